/* A line chart drawn as inline SVG: one polyline per series, gaps where a value is null. */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const W = 600, H = 180, LEFT = 44, RIGHT = 8, TOP = 10, BOTTOM = 22;

  function node(tag, attrs, text) {
    const element = document.createElementNS(SVG, tag);
    for (const [name, value] of Object.entries(attrs || {})) element.setAttribute(name, String(value));
    if (text !== undefined) element.textContent = text;
    return element;
  }

  /** Return a round upper bound for the y axis (1, 2 or 5 times a power of ten). */
  function niceMax(value, floor) {
    const top = Math.max(value, floor);
    const power = Math.pow(10, Math.floor(Math.log10(top)));
    for (const step of [1, 2, 5, 10]) {
      if (step * power >= top) return step * power;
    }
    return 10 * power;
  }

  function axes(svg, max, format, minutes) {
    for (const fraction of [0, 0.5, 1]) {
      const y = TOP + (1 - fraction) * (H - TOP - BOTTOM);
      svg.appendChild(node("line", {x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: "grid"}));
      svg.appendChild(node("text", {x: LEFT - 4, y: y + 4, "text-anchor": "end", class: "axis-label"},
        format(max * fraction)));
    }
    const labels = [[LEFT, "start", `-${minutes} min`], [(LEFT + W - RIGHT) / 2, "middle", `-${Math.round(minutes / 2)} min`],
      [W - RIGHT, "end", "now"]];
    for (const [x, anchor, text] of labels) {
      svg.appendChild(node("text", {x: x, y: H - 6, "text-anchor": anchor, class: "axis-label"}, text));
    }
  }

  /** Split values into runs of consecutive non-null points, as "x,y" strings. */
  function segments(values, max) {
    const runs = [];
    let run = [];
    const dx = values.length > 1 ? (W - LEFT - RIGHT) / (values.length - 1) : 0;
    values.forEach(function (value, index) {
      if (value === null) {
        if (run.length) runs.push(run);
        run = [];
        return;
      }
      const y = TOP + (1 - value / max) * (H - TOP - BOTTOM);
      run.push(`${(LEFT + index * dx).toFixed(1)},${y.toFixed(1)}`);
    });
    if (run.length) runs.push(run);
    return runs;
  }

  /** Return a polyline through a run of points, or a dot for a lone point. */
  function mark(run, series) {
    const [x, y] = run[0].split(",");
    const shape = run.length > 1 ? node("polyline", {points: run.join(" "), class: `series-${series.colour}`})
      : node("circle", {cx: x, cy: y, r: 1.5, class: `series-${series.colour}`});
    shape.appendChild(node("title", {}, series.name));
    return shape;
  }

  /**
   * Draw series ({name, values, colour}) into svg. options: floor (smallest y maximum),
   * format (axis label of a value), minutes (width of the window).
   */
  function draw(svg, series, options) {
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const values = series.flatMap(function (one) { return one.values.filter(function (v) { return v !== null; }); });
    const max = niceMax(values.length ? Math.max.apply(null, values) : 0, options.floor);
    axes(svg, max, options.format, options.minutes);
    for (const one of series) {
      for (const run of segments(one.values, max)) {
        svg.appendChild(mark(run, one));
      }
    }
  }

  window.EngadiChart = {draw: draw};
})();
