// crm-hub: keyboard shortcuts for decisions and confirmation of bulk actions. No build step.
"use strict";
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const target = event.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLTextAreaElement ||
      target instanceof HTMLSelectElement) return;
  const button = document.querySelector(`button[data-key="${CSS.escape(event.key)}"]`);
  if (button) {
    event.preventDefault();
    button.closest("form").requestSubmit(button);
  }
});
document.addEventListener("submit", (event) => {
  const button = event.submitter;
  if (button && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
document.addEventListener("click", (event) => {
  const link = event.target.closest("a[data-back]");
  if (link) { event.preventDefault(); history.back(); }
});
document.addEventListener("click", (event) => {
  if (event.target.closest("button[data-print]")) window.print();  // the field-service brief
});
