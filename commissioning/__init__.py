"""Commissioning: referrals, sibling groups, the supply register, vacancies and placements."""
