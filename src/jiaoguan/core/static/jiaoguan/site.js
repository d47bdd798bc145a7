// The few behaviours the pages need, here rather than inline: the Content-Security-Policy (script-src 'self')
// runs no inline <script> and no on*= attribute.
"use strict";
document.addEventListener("click", function (event) {
  var target = event.target instanceof Element ? event.target : null;
  if (!target) return;
  // "返回 Back" on an error page: back in history when there is one, else the link's own address (home)
  var back = target.closest("[data-back]");
  if (back && window.history.length > 1) {
    event.preventDefault();
    window.history.back();
    return;
  }
  // "打印 Print" on a receipt
  if (target.closest("[data-print]")) {
    event.preventDefault();
    window.print();
  }
});
