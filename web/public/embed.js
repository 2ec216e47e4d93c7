/* global window, document */
/* Switchboard chat widget: <script src="https://YOUR-SWITCHBOARD/embed.js" async></script> adds a chat button
   that opens the customer widget (/chat/) in an iframe. The embedding site must be listed in WIDGET_ORIGINS. */
(function () {
  var script = document.currentScript;
  if (!script || window.__switchboardWidget) return;
  window.__switchboardWidget = true;
  var origin = new URL(script.src).origin;
  function mount() {
    var frame = document.createElement('iframe');
    frame.src = origin + '/chat/';
    frame.title = 'Customer support chat';
    frame.hidden = true;
    frame.style.cssText =
      'position:fixed;bottom:84px;right:16px;width:min(380px,calc(100vw - 32px));height:min(620px,calc(100vh - 108px));' +
      'border:0;border-radius:12px;box-shadow:0 4px 24px rgba(0,0,0,.25);z-index:2147483000;background:#fff';
    var button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Chat with us';
    button.setAttribute('aria-expanded', 'false');
    button.style.cssText =
      'position:fixed;bottom:16px;right:16px;z-index:2147483001;padding:14px 20px;border:0;border-radius:999px;' +
      'background:#1d4ed8;color:#fff;font:600 16px system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 12px rgba(0,0,0,.3)';
    button.onclick = function () {
      frame.hidden = !frame.hidden;
      button.setAttribute('aria-expanded', String(!frame.hidden));
      button.textContent = frame.hidden ? 'Chat with us' : 'Close chat';
    };
    document.body.appendChild(frame);
    document.body.appendChild(button);
  }
  if (document.body) mount();
  else document.addEventListener('DOMContentLoaded', mount);
})();
