// Live preview for the Branding tab. The server parses colours (one parser for everything); this file
// only asks it and points the preview iframe at the unsaved state. Without it the form still saves.
(() => {
  const root = document.querySelector("[data-branding]");
  if (!root) return;
  const app = root.dataset.app;
  const form = document.getElementById("branding-form");
  const colorInput = document.getElementById("f-button_color");
  const picker = document.getElementById("color-picker");
  const error = document.getElementById("f-button_color-error");
  const frame = document.getElementById("preview");
  const stepSelect = document.getElementById("preview-step");
  const widthSelect = document.getElementById("preview-width");
  const csrf = form.querySelector("input[name=_csrf]").value;
  let lastValid = colorInput.value;
  let timer;

  const paintSwatch = () => {
    const swatch = document.getElementById("swatch");
    swatch.style.background = swatch.dataset.color;
  };
  paintSwatch();

  const makes = () => [...form.querySelectorAll("input[name=makes]")].map((i) => i.value).join(",");

  const refreshPreview = () => {
    const params = new URLSearchParams({ step: stepSelect.value, button_color: lastValid, makes: makes(),
      account_select: document.getElementById("f-account_select").checked ? "1" : "0" });
    frame.src = `/connect/preview/${app}?${params}`;
  };

  const showColor = (result) => {
    if (!result.valid) {
      error.textContent = result.error;
      error.hidden = false;
      colorInput.setAttribute("aria-invalid", "true");
      return;
    }
    error.hidden = true;
    colorInput.removeAttribute("aria-invalid");
    lastValid = colorInput.value;
    document.getElementById("normalized").textContent = result.button_color;
    document.getElementById("swatch").dataset.color = result.button_color;
    paintSwatch();
    document.getElementById("text-color").textContent = result.button_text_color === "#000000" ? "black" : "white";
    document.getElementById("contrast-ratio").textContent = `${result.contrast_ratio.toFixed(2)}:1`;
    const warning = document.getElementById("contrast-warning");
    warning.hidden = !result.warning;
    warning.textContent = result.warning ? `${result.warning} ` : "";
    if (result.suggestion) {
      const suggest = document.createElement("button");
      suggest.type = "button";
      suggest.className = "link-button";
      suggest.dataset.suggest = result.suggestion;
      suggest.textContent = `Use ${result.suggestion}`;
      warning.append(suggest);
    }
    picker.value = result.button_color.slice(0, 7).toLowerCase();
    refreshPreview();
  };

  const checkColor = () => {
    fetch(`/apps/${app}/branding/check?button_color=${encodeURIComponent(colorInput.value)}`, { headers: { Accept: "application/json" } })
      .then((r) => r.json()).then(showColor).catch(() => {});
  };

  colorInput.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(checkColor, 120); });
  picker.addEventListener("input", () => { colorInput.value = picker.value; checkColor(); });
  root.addEventListener("click", (event) => {
    const suggestion = event.target.closest("[data-suggest]");
    if (suggestion) { colorInput.value = suggestion.dataset.suggest; checkColor(); return; }
    const move = event.target.closest(".make-order button[name=op]");
    if (!move) return;
    event.preventDefault();
    const [verb, id] = move.value.split(":");
    const item = move.closest("li");
    if (verb === "up" && item.previousElementSibling) item.parentNode.insertBefore(item, item.previousElementSibling);
    if (verb === "down" && item.nextElementSibling) item.parentNode.insertBefore(item.nextElementSibling, item);
    if (verb === "remove") item.remove();
    (verb === "remove" ? form.querySelector(".make-order button") : move)?.focus();
    refreshPreview();
  });
  document.getElementById("f-account_select").addEventListener("change", refreshPreview);
  stepSelect.addEventListener("change", refreshPreview);
  widthSelect.addEventListener("change", () => { frame.className = widthSelect.value; });
  document.getElementById("preview-apply").hidden = true;

  const logoForm = document.getElementById("logo-form");
  if (logoForm) {
    const fileInput = document.getElementById("f-logo");
    const logoError = document.getElementById("logo-error");
    fileInput.addEventListener("change", () => {
      if (!fileInput.files.length) return;
      const body = new FormData(logoForm);
      fetch(logoForm.action, { method: "POST", body, headers: { Accept: "application/json", "X-CSRF-Token": csrf } })
        .then((r) => r.json()).then((result) => {
          if (result.error) { logoError.textContent = result.error.message; logoError.hidden = false; return; }
          logoError.hidden = true;
          let thumb = document.getElementById("logo-thumb");
          if (!thumb) {
            thumb = document.createElement("img");
            thumb.id = "logo-thumb"; thumb.className = "logo-thumb"; thumb.alt = "Current logo";
            document.getElementById("no-logo")?.replaceWith(thumb);
          }
          thumb.src = result.logo_url;
          refreshPreview();
        }).catch(() => { logoError.textContent = "The upload failed. Try again."; logoError.hidden = false; });
    });
  }
})();
