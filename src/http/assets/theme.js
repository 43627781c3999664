// A classic script in <head>, run before the first paint, so a stored dark theme
// never flashes light; without a stored choice the CSS follows the system.
/* global document, localStorage */
try {
  const t = localStorage.getItem('lookout.theme');
  if (t === 'dark' || t === 'light') document.documentElement.dataset.theme = t;
} catch {
  // storage blocked: follow the system
}
