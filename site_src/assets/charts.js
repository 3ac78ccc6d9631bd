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

  function drawAll() {
    document.querySelectorAll(".opsbench-chart").forEach(draw);
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
