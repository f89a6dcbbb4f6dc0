// The run page's progress, updated in place (WCAG 2.2.1 / 2.2.2: the page never reloads itself).
// Every few seconds it asks for the run's stage and, only when the stage changes, rewrites the
// live region, which screen readers announce. When the run ends it says so and offers a link to
// the results; nothing moves the reader away. Without JavaScript the "Check progress" button
// reloads the page when the reader chooses.
const POLL_MS = 5000

const box = document.getElementById('progress')
if (box && box.dataset.progressUrl) {
  const status = document.getElementById('progress-status')
  const elapsed = document.getElementById('progress-elapsed')
  let shown = ''
  let timer = null

  const write = (data) => {
    if (elapsed) elapsed.textContent = `${data.elapsed_seconds} seconds so far.`
    const text = data.running ? `${data.label}.` : `The run has ${data.label === 'Finished' ? 'finished' : 'ended: ' + data.label.toLowerCase()}.`
    if (text === shown) return
    shown = text
    status.replaceChildren()
    const strong = document.createElement('strong')
    strong.textContent = text
    status.append(strong)
    if (!data.running) {
      status.append(' ')
      const link = document.createElement('a')
      link.className = 'govuk-link'
      link.href = data.url
      link.textContent = 'Show the results'
      status.append(link)
      window.clearInterval(timer)
    }
  }

  const check = async () => {
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { Accept: 'application/json' }, credentials: 'same-origin' })
      if (response.ok) write(await response.json())
    } catch (error) {
      // Offline for a moment: the next check tries again, and the button still works.
    }
  }

  timer = window.setInterval(check, POLL_MS)
}
