"""Cost transparency's business rules: no Flask in here, arguments in and results or errors out."""
