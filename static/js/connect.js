// Connect enhancements; every step works without this file.
document.addEventListener("input", (event) => {
  const box = event.target.closest("[data-filter]");
  if (!box) return;
  const needle = box.value.trim().toLowerCase();
  document.querySelectorAll(box.dataset.filter + " li[data-name]").forEach((item) => {
    item.hidden = needle !== "" && !item.dataset.name.toLowerCase().includes(needle);
  });
});
document.addEventListener("submit", (event) => {
  if (event.target.matches(".connect-search")) event.preventDefault();
});
