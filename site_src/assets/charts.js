// Draw every chart on the page with the vendored vega-embed bundle (no CDN).
// Material's instant navigation swaps pages without a reload, so we hook
// document$ (fired on every page view) rather than DOMContentLoaded, and we
// redraw when the reader switches between light and dark mode.
(function () {
  function isDark() {
    return document.body.getAttribute("data-md-color-scheme") === "slate";
  }

  function draw(container) {
    var target = container.querySelector(".opsbench-chart-target");
    if (!container.dataset.spec || !target || typeof vegaEmbed === "undefined") return;
    var spec = JSON.parse(container.dataset.spec);
    var opts = { actions: false, renderer: "svg" };
    if (isDark()) opts.theme = "dark";
    vegaEmbed(target, spec, opts).then(function () {
      container.classList.add("opsbench-rendered");
    }).catch(function (err) {
      container.classList.remove("opsbench-rendered");
      container.setAttribute("data-error", String(err));
    });
  }

  // The Vega bundle is loaded only on pages with a chart: the first chart names it (data-bundle,
  // relative to its page); once loaded it stays for later pages reached by instant navigation.
  var loading = null;
  function withBundle(first, then) {
    if (typeof vegaEmbed !== "undefined") return then();
    if (!loading) {
      loading = new Promise(function (resolve, reject) {
        var s = document.createElement("script");
        s.src = first.dataset.bundle;
        s.onload = resolve;
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    loading.then(then, function () { loading = null; });
  }

  function drawAll() {
    var charts = document.querySelectorAll(".opsbench-chart");
    if (!charts.length || !charts[0].dataset.bundle) return;
    withBundle(charts[0], function () { charts.forEach(draw); });
  }

  if (typeof document$ !== "undefined") {
    document$.subscribe(drawAll);
  } else {
    document.addEventListener("DOMContentLoaded", drawAll);
  }
  new MutationObserver(function (changes) {
    if (changes.some(function (c) { return c.attributeName === "data-md-color-scheme"; })) drawAll();
  }).observe(document.body, { attributes: true });
})();
