// Connect URL builder: rebuilds and re-checks the URL on the server as the form changes.
(() => {
  const form = document.getElementById("builder");
  if (!form) return;
  document.getElementById("b-update").hidden = true;
  let timer;
  const refresh = () => {
    const params = new URLSearchParams(new FormData(form));
    params.set("format", "json");
    fetch(`${form.action}?${params}`, { headers: { Accept: "application/json" } })
      .then((r) => r.json()).then((result) => {
        document.getElementById("b-url").value = result.url;
        document.getElementById("b-launch").href = result.url;
        const problem = document.getElementById("b-problem");
        problem.textContent = result.error;
        problem.hidden = result.valid;
        document.getElementById("b-ok").hidden = !result.valid;
      }).catch(() => {});
  };
  form.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(refresh, 150); });
  form.addEventListener("change", refresh);
})();
