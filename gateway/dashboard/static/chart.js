/* A line chart drawn as inline SVG: one polyline per series, gaps where a value is null, and a
   tooltip with every series' value at the hovered bucket. Colours come from palette(): distinct for
   any number of series (twelve hand-picked ones, then hues spread by the golden angle). */
(function () {
  "use strict";
  const SVG = "http://www.w3.org/2000/svg";
  const W = 600, H = 180, LEFT = 44, RIGHT = 8, TOP = 10, BOTTOM = 22;
  // Qualitative colours, told apart by people with the common colour-vision deficiencies as far as 12 allow.
  const BASE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf",
    "#7f7f7f", "#bcbd22", "#393b79", "#ad494a"];
  const drawn = new WeakMap();  // svg -> what it shows, for the tooltip
  const pointers = new WeakMap();  // svg -> the last pointer event over it (the tooltip follows a redraw)

  /** Return the colour of series ``index``: never the same for two indexes below 360 / 137.5 * 1000. */
  function palette(index) {
    if (index < BASE.length) return BASE[index];
    const hue = ((index - BASE.length) * 137.508 + 20) % 360;
    const light = 30 + ((index - BASE.length) % 3) * 12;
    return `hsl(${hue.toFixed(1)}, 70%, ${light}%)`;
  }

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

  function ago(minutes) { return minutes >= 120 ? `-${Math.round(minutes / 60)} h` : `-${Math.round(minutes)} min`; }

  function axes(svg, max, format, minutes) {
    for (const fraction of [0, 0.5, 1]) {
      const y = TOP + (1 - fraction) * (H - TOP - BOTTOM);
      svg.appendChild(node("line", {x1: LEFT, x2: W - RIGHT, y1: y, y2: y, class: "grid"}));
      svg.appendChild(node("text", {x: LEFT - 4, y: y + 4, "text-anchor": "end", class: "axis-label"},
        format(max * fraction)));
    }
    const labels = [[LEFT, "start", ago(minutes)], [(LEFT + W - RIGHT) / 2, "middle", ago(minutes / 2)],
      [W - RIGHT, "end", "now"]];
    for (const [x, anchor, text] of labels) {
      svg.appendChild(node("text", {x: x, y: H - 6, "text-anchor": anchor, class: "axis-label"}, text));
    }
  }

  function step(count) { return count > 1 ? (W - LEFT - RIGHT) / (count - 1) : 0; }

  /** Split values into runs of consecutive non-null points, as "x,y" strings. */
  function segments(values, max) {
    const runs = [];
    let run = [];
    const dx = step(values.length);
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
    const colour = palette(series.colour);
    const shape = run.length > 1 ? node("polyline", {points: run.join(" "), stroke: colour, fill: "none"})
      : node("circle", {cx: x, cy: y, r: 1.5, stroke: colour, fill: colour});
    shape.appendChild(node("title", {}, series.name));
    return shape;
  }

  /**
   * Draw series ({name, values, colour}) into svg. options: floor (smallest y maximum),
   * format (axis label of a value), minutes (width of the window), times (start of each bucket).
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
    const cursor = node("line", {x1: 0, x2: 0, y1: TOP, y2: H - BOTTOM, class: "cursor", visibility: "hidden"});
    svg.appendChild(cursor);
    if (!drawn.has(svg)) listen(svg);
    drawn.set(svg, {series: series, options: options, cursor: cursor});
    if (pointers.has(svg)) showTooltip(svg, pointers.get(svg));  // new data under a resting pointer
  }

  // --- the tooltip -------------------------------------------------------------------------------

  function tooltipOf(svg) {
    const figure = svg.closest("figure");
    let tip = figure.querySelector(".chart-tooltip");
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "chart-tooltip";
      tip.setAttribute("role", "tooltip");
      tip.hidden = true;
      figure.appendChild(tip);
    }
    return tip;
  }

  /** Return the bucket under the pointer (an index), or -1. */
  function bucketAt(svg, event, count) {
    const box = svg.getBoundingClientRect();
    if (!box.width || count < 1) return -1;
    const x = (event.clientX - box.left) * W / box.width;
    const dx = step(count);
    const index = dx ? Math.round((x - LEFT) / dx) : 0;
    return Math.min(count - 1, Math.max(0, index));
  }

  function showTooltip(svg, event) {
    const shown = drawn.get(svg);
    const count = shown && shown.series.length ? shown.series[0].values.length : 0;
    const index = bucketAt(svg, event, count);
    const tip = tooltipOf(svg);
    if (index < 0) return hideTooltip(svg);
    const x = LEFT + index * step(count);
    shown.cursor.setAttribute("x1", x);
    shown.cursor.setAttribute("x2", x);
    shown.cursor.setAttribute("visibility", "visible");
    const time = shown.options.times && shown.options.times[index];
    const rows = shown.series.map(function (one) {
      const value = one.values[index];
      const line = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = palette(one.colour);
      const text = document.createElement("span");
      text.textContent = `${one.name}: ${value === null ? "no requests" : shown.options.format(value, true)}`;
      line.append(swatch, text);
      return line;
    });
    const heading = document.createElement("strong");
    heading.textContent = time ? new Date(time).toLocaleTimeString([], {hour: "2-digit", minute: "2-digit"}) : "";
    const list = document.createElement("ul");
    list.append(...rows);
    tip.replaceChildren(heading, list);
    tip.hidden = false;
    const figure = svg.closest("figure").getBoundingClientRect();
    const left = event.clientX - figure.left;
    tip.style.left = `${Math.max(0, left > figure.width / 2 ? left - tip.offsetWidth - 12 : left + 12)}px`;
    tip.style.top = `${Math.max(0, event.clientY - figure.top + 12)}px`;
  }

  function hideTooltip(svg) {
    const shown = drawn.get(svg);
    if (shown) shown.cursor.setAttribute("visibility", "hidden");
    tooltipOf(svg).hidden = true;
  }

  function listen(svg) {
    svg.addEventListener("pointermove", function (event) {
      pointers.set(svg, event);
      showTooltip(svg, event);
    });
    svg.addEventListener("pointerleave", function () {
      pointers.delete(svg);
      hideTooltip(svg);
    });
  }

  window.EngadiChart = {draw: draw, palette: palette};
})();
