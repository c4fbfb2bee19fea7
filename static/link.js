// Keyfob Link for app front ends:
//   <script src="https://YOUR-KEYFOB/static/link.js"></script>  (this file: static/link.js)
//   KeyfobLink.open({ token, onSuccess(publicToken, metadata), onError(error, metadata), onExit(metadata) })
// It opens the hosted widget in a popup (or, with overlay: true, in an iframe over the page; the
// iframe needs Keyfob on https) and calls back when the widget reports with postMessage.
(() => {
  const script = document.currentScript;
  const keyfobOrigin = new URL(script ? script.src : window.location.href).origin;

  function open({ token, onSuccess, onError, onExit, overlay = false }) {
    const url = `${keyfobOrigin}/link/${encodeURIComponent(token)}`;
    let frame = null;
    let popup = null;
    if (overlay) {
      frame = document.createElement("iframe");
      frame.src = url;
      frame.title = "Connect your vehicle";
      frame.setAttribute("style", "position:fixed;inset:0;width:100%;height:100%;border:0;z-index:2147483647;background:rgba(0,0,0,.4)");
      document.body.appendChild(frame);
    } else {
      popup = window.open(url, "keyfob-link", "width=440,height=760");
    }
    const close = () => {
      window.removeEventListener("message", onMessage);
      if (frame) frame.remove();
      if (popup && !popup.closed) popup.close();
    };
    function onMessage(event) {
      const data = event.data || {};
      if (event.origin !== keyfobOrigin || data.source !== "keyfob-link") return;
      close();
      if (data.event === "success" && onSuccess) onSuccess(data.public_token, data.metadata || {});
      if (data.event === "error" && onError) onError(data.error || {}, data.metadata || {});
      if (data.event === "exit" && onExit) onExit(data.metadata || {});
    }
    window.addEventListener("message", onMessage);
    return { close };
  }

  window.KeyfobLink = { open };
})();
