// The Link result page: report the outcome to the app page that opened (or framed) the widget, at
// the app's registered origins only, then continue to the app's redirect_url when it gave one.
(() => {
  const el = document.getElementById("link-result");
  if (!el) return;
  const message = JSON.parse(el.dataset.message);
  const origins = JSON.parse(el.dataset.origins);
  const target = window.opener || (window.parent !== window ? window.parent : null);
  if (target) {
    origins.forEach((origin) => { try { target.postMessage(message, origin); } catch (e) { /* origin not ours */ } });
  }
  if (el.dataset.redirect) {
    setTimeout(() => { window.location.href = el.dataset.redirect; }, 300);
  } else if (window.opener) {
    setTimeout(() => window.close(), 300);
  }
})();
