// The Jupyter widgets' HTML manager (1.0.x) typesets widget labels with MathJax 2's API,
// MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the site loads MathJax 3, which has no Hub.
// This maps that one call onto MathJax 3 (after its start-up), so labels typeset and nothing throws.
(function () {
  function install() {
    var mj = window.MathJax;
    if (!mj || mj.Hub) return;
    mj.Hub = {
      Queue: function (job) {
        var element = job && job[2];
        var ready = mj.startup && mj.startup.promise ? mj.startup.promise : Promise.resolve();
        ready.then(function () {
          if (element && mj.typesetPromise) return mj.typesetPromise([element]);
        }).catch(function (err) { console.warn("MathJax could not typeset a widget label:", err); });
      }
    };
  }
  install();
  document.addEventListener("DOMContentLoaded", install);
})();
