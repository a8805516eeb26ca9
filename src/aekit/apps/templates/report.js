// The report's two interactive plots, in plain JavaScript and inline SVG (see report.py for why):
// learning curves (values on hover, series toggled from the legend) and latent maps (hover a point
// for its input image and label, wheel to zoom, drag to pan, double-click to reset, toggle classes,
// click a location for the decoder's output there).
"use strict";
(function () {
  const SVG = "http://www.w3.org/2000/svg";
  const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                   "#7f7f7f", "#bcbd22", "#17becf"];
  const M = { left: 58, right: 14, top: 12, bottom: 40 };  // plot margins (px)
  // a latent map's point shapes, by matplotlib's marker letters (plots.MARKERS: a class's shape and colour are the
  // PNG maps'), as paths around (0, 0) of about a 4 px radius
  const SHAPES = {
    o: "M-4,0a4,4 0 1,0 8,0a4,4 0 1,0 -8,0Z", s: "M-3.5,-3.5H3.5V3.5H-3.5Z", "^": "M0,-4.6L4.2,3.2H-4.2Z",
    D: "M0,-4.8L4.2,0L0,4.8L-4.2,0Z", v: "M0,4.6L4.2,-3.2H-4.2Z", "<": "M-4.6,0L3.2,-4.2V4.2Z", ">": "M4.6,0L-3.2,-4.2V4.2Z",
    P: "M-1.5,-4.5H1.5V-1.5H4.5V1.5H1.5V4.5H-1.5V1.5H-4.5V-1.5H-1.5Z",
    X: "M2.12,-4.24L4.24,-2.12L2.12,0L4.24,2.12L2.12,4.24L0,2.12L-2.12,4.24L-4.24,2.12L-2.12,0L-4.24,-2.12L-2.12,-4.24L0,-2.12Z",
    "*": "M0,-5.2L1.29,-1.78L4.95,-1.61L2.09,0.68L3.06,4.21L0,2.2L-3.06,4.21L-2.09,0.68L-4.95,-1.61L-1.29,-1.78Z",
    p: "M0,-4.6L4.37,-1.42L2.7,3.72L-2.7,3.72L-4.37,-1.42Z", h: "M0,-4.4L3.81,-2.2L3.81,2.2L0,4.4L-3.81,2.2L-3.81,-2.2Z",
    d: "M0,-4.8L2.8,0L0,4.8L-2.8,0Z", 8: "M3.97,1.65L1.65,3.97L-1.65,3.97L-3.97,1.65L-3.97,-1.65L-1.65,-3.97L1.65,-3.97L3.97,-1.65Z",
    H: "M4.4,0L2.2,3.81L-2.2,3.81L-4.4,0L-2.2,-3.81L2.2,-3.81Z", ".": "M-2.2,0a2.2,2.2 0 1,0 4.4,0a2.2,2.2 0 1,0 -4.4,0Z",
  };

  function el(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  function ticks(lo, hi, count, integer) {  // "nice" round numbers between lo and hi (whole ones for epochs)
    const step0 = Math.max((hi - lo) / Math.max(count, 1), integer ? 1 : 0);
    const mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 5, 10].map((f) => f * mag).find((s) => s >= step0) || step0;
    const out = [];
    for (let k = Math.ceil(lo / step); k * step <= hi + step * 1e-9; k++) out.push(+(k * step).toPrecision(12));  // k * step: 0 is 0, not a sum's -2.8e-17
    return out;
  }

  function esc(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }

  function fmt(v) {
    if (!isFinite(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : +v.toPrecision(4) + "";
  }

  // a linear (or log) map from a data range onto a pixel range
  function scale(d0, d1, p0, p1, log) {
    const f = log ? Math.log10 : (v) => v;
    const a = f(d0), b = f(d1);
    const s = (v) => p0 + ((f(v) - a) / (b - a || 1)) * (p1 - p0);
    s.invert = (p) => { const t = a + ((p - p0) / (p1 - p0)) * (b - a); return log ? Math.pow(10, t) : t; };
    return s;
  }

  function axes(g, sx, sy, view, w, h, names, logY) {  // ticks, grid lines and axis names
    g.textContent = "";
    const xt = ticks(view.x0, view.x1, 6, true);
    const yt = logY ? ticks(Math.log10(view.y0), Math.log10(view.y1), 5).map((t) => Math.pow(10, t))
                    : ticks(view.y0, view.y1, 5);
    for (const t of xt) {
      el("line", { class: "gridline", x1: sx(t), x2: sx(t), y1: M.top, y2: h - M.bottom }, g);
      el("text", { x: sx(t), y: h - M.bottom + 15, "text-anchor": "middle" }, g).textContent = fmt(t);
    }
    for (const t of yt) {
      el("line", { class: "gridline", x1: M.left, x2: w - M.right, y1: sy(t), y2: sy(t) }, g);
      el("text", { x: M.left - 6, y: sy(t) + 4, "text-anchor": "end" }, g).textContent = fmt(t);
    }
    el("rect", { x: M.left, y: M.top, width: w - M.left - M.right, height: h - M.top - M.bottom,
                 fill: "none", stroke: "#b8c0cc" }, g);
    el("text", { x: (M.left + w - M.right) / 2, y: h - 6, "text-anchor": "middle" }, g).textContent = names[0];
    el("text", { x: 14, y: (M.top + h - M.bottom) / 2, "text-anchor": "middle",
                 transform: `rotate(-90 14 ${(M.top + h - M.bottom) / 2})` }, g).textContent = names[1];
  }

  function legendButton(box, label, colour, dashed, onToggle, shape) {
    const button = document.createElement("button");
    button.type = "button";
    button.innerHTML = shape  // a map's class: its point's shape; a curve: a line
      ? `<svg class="swatch shape" viewBox="-6 -6 12 12" aria-hidden="true"><path d="${SHAPES[shape]}" fill="${colour}"/></svg>`
      : `<span class="swatch${dashed ? " dashed" : ""}" style="background-color:${colour}"></span>`;
    button.appendChild(document.createTextNode(label));
    button.setAttribute("aria-pressed", "true");  // shown; a screen reader hears the state (an accessibility trial)
    button.addEventListener("click", () => {
      const shown = !button.classList.toggle("off");
      button.setAttribute("aria-pressed", String(shown));
      onToggle(shown);
    });
    box.appendChild(button);
    return button;
  }

  // --- learning curves ---------------------------------------------------------------------------
  function curves(root) {
    const data = JSON.parse(root.querySelector("script.plot-data").textContent);
    const svg = root.querySelector("svg"), tip = root.querySelector(".tooltip");
    const w = +svg.getAttribute("width"), h = +svg.getAttribute("height");
    const xs = data.series.flatMap((s) => s.x), ys = data.series.flatMap((s) => s.y).filter(isFinite);
    const view = { x0: Math.min(...xs), x1: Math.max(...xs), y0: Math.min(...ys), y1: Math.max(...ys) };
    if (view.x0 === view.x1) { view.x0 -= 1; view.x1 += 1; }
    if (data.log_y) { view.y0 /= 1.2; view.y1 *= 1.2; } else {
      const pad = 0.06 * (view.y1 - view.y0 || Math.abs(view.y1) || 1); view.y0 -= pad; view.y1 += pad;
    }
    const sx = scale(view.x0, view.x1, M.left, w - M.right);
    const sy = scale(view.y0, view.y1, h - M.bottom, M.top, data.log_y);
    axes(el("g", { class: "axis" }, svg), sx, sy, view, w, h, ["epoch", data.y_name], data.log_y);
    const shown = data.series.map(() => true);
    const lines = data.series.map((s, i) => {
      const g = el("g", { class: "series", "data-series": s.label }, svg);
      const pts = s.x.map((x, j) => `${sx(x)},${sy(s.y[j])}`).join(" ");
      el("polyline", { points: pts, fill: "none", stroke: COLOURS[s.colour % 10], "stroke-width": 2,
                       "stroke-dasharray": s.dashed ? "6 4" : "" }, g);
      s.x.forEach((x, j) => el("circle", { cx: sx(x), cy: sy(s.y[j]), r: 2.5, fill: COLOURS[s.colour % 10] }, g));
      legendButton(root.querySelector(".legend"), s.label, COLOURS[s.colour % 10], s.dashed, (on) => {
        shown[i] = on;
        g.style.display = on ? "" : "none";
      });
      return g;
    });
    const cursor = el("line", { y1: M.top, y2: h - M.bottom, stroke: "#8892a6", "stroke-dasharray": "3 3",
                                visibility: "hidden" }, svg);
    svg.addEventListener("mousemove", (event) => {
      const box = svg.getBoundingClientRect(), k = w / box.width, px = (event.clientX - box.left) * k;  // drawn smaller on a narrow page
      const epoch = Math.round(sx.invert(px));
      const rows = data.series.filter((s, i) => shown[i] && s.x.includes(epoch))
        .map((s) => `<div><span class="swatch" style="background-color:${COLOURS[s.colour % 10]}"></span>` +
                    `${esc(s.label)}: <b>${fmt(s.y[s.x.indexOf(epoch)])}</b></div>`);
      // (drawn smaller, an edge point's pixel rounds past the plot's edge: a pixel's slack)
      if (!rows.length || px < M.left - 1 || px > w - M.right + 1) { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); return; }
      cursor.setAttribute("x1", sx(epoch)); cursor.setAttribute("x2", sx(epoch)); cursor.setAttribute("visibility", "visible");
      tip.innerHTML = `<div>epoch ${epoch}</div>` + rows.join("");
      tip.style.display = "block";
      tip.style.left = `${Math.max(0, Math.min(sx(epoch) / k + 12, box.width - 180))}px`;
      tip.style.top = `${event.clientY - box.top + 12}px`;
    });
    svg.addEventListener("mouseleave", () => { tip.style.display = "none"; cursor.setAttribute("visibility", "hidden"); });
    return lines;
  }

  // --- latent maps -------------------------------------------------------------------------------
  function latentMap(root) {
    const data = JSON.parse(root.querySelector("script.plot-data").textContent);
    const svg = root.querySelector("svg.latent-map");
    const w = +svg.getAttribute("width"), h = +svg.getAttribute("height");
    const hoverImg = root.querySelector("img.hover-image"), hoverText = root.querySelector(".hover-caption");
    const decodedImg = root.querySelector("img.decoded-image"), decodedText = root.querySelector(".decoded-caption");
    const className = (label) => (label === null ? "" : label === -1 ? "unlabelled"
                                  : data.classes ? data.classes[label] : String(label));
    const xs = data.points.map((p) => p[0]), ys = data.points.map((p) => p[1]);
    const home = { x0: Math.min(...data.grid.u), x1: Math.max(...data.grid.u),
                   y0: Math.min(...data.grid.v), y1: Math.max(...data.grid.v) };
    home.x0 = Math.min(home.x0, ...xs); home.x1 = Math.max(home.x1, ...xs);
    home.y0 = Math.min(home.y0, ...ys); home.y1 = Math.max(home.y1, ...ys);
    const padX = 0.03 * (home.x1 - home.x0), padY = 0.03 * (home.y1 - home.y0);  // no dot on the frame
    Object.assign(home, { x0: home.x0 - padX, x1: home.x1 + padX, y0: home.y0 - padY, y1: home.y1 + padY });
    let view = { ...home };
    const hidden = new Set();
    const axisGroup = el("g", { class: "axis" }, svg);
    el("clipPath", { id: `${root.id}-clip` }, svg).appendChild(
      el("rect", { x: M.left, y: M.top, width: w - M.left - M.right, height: h - M.top - M.bottom }));
    const layer = el("g", { "clip-path": `url(#${root.id}-clip)` }, svg);
    const colourOf = (label) => data.colours[String(label)] || "#9aa3b0";  // -1: an unlabelled sample
    // a class's shape; an unlabelled sample (-1) a small dot; a scale's labels all round
    const shapeOf = (label) => (label === -1 ? "." : (data.shapes && data.shapes[String(label)]) || "o");
    const dots = data.points.map((p, i) => el("path", {
      class: "pt", d: SHAPES[data.labels ? shapeOf(data.labels[i]) : "o"], "data-index": i,
      "data-label": data.labels ? data.labels[i] : "", fill: data.labels ? colourOf(data.labels[i]) : COLOURS[0] }, layer));
    const marker = el("path", { class: "marker", visibility: "hidden" }, layer);
    let sx, sy, clicked = null;

    function draw() {
      sx = scale(view.x0, view.x1, M.left, w - M.right);
      sy = scale(view.y0, view.y1, h - M.bottom, M.top);
      axes(axisGroup, sx, sy, view, w, h, data.axes, false);
      dots.forEach((dot, i) => dot.setAttribute("transform", `translate(${sx(xs[i])},${sy(ys[i])})`));
      if (clicked) {
        const [cx, cy] = [sx(clicked[0]), sy(clicked[1])];
        marker.setAttribute("d", `M${cx - 7},${cy}H${cx + 7}M${cx},${cy - 7}V${cy + 7}`);
      }
    }

    function show(i) {
      dots.forEach((d) => d.classList.remove("hot"));
      dots[i].classList.add("hot");
      hoverImg.src = data.images[i];
      const label = data.labels ? data.labels[i] : null;
      // a name in its own direction (isolated: an Arabic one pulled the numbers after it into its run, a review)
      hoverText.textContent = `sample ${i}` + (label === null ? "" : ` · label \u2068${className(label)}\u2069`) +
        ` · (${fmt(xs[i])}, ${fmt(ys[i])})`;
      hoverImg.alt = `the input of ${hoverText.textContent}`;
      root.dataset.hovered = String(i);
    }

    function decodeAt(u, v) {  // the nearest lattice node's decoded image
      const near = (values, t) => values.reduce((best, x, j) => (Math.abs(x - t) < Math.abs(values[best] - t) ? j : best), 0);
      const i = near(data.grid.u, u), j = near(data.grid.v, v);
      decodedImg.src = data.grid.images[j * data.grid.u.length + i];
      decodedText.textContent = `decoded at (${fmt(data.grid.u[i])}, ${fmt(data.grid.v[j])})`;
      decodedImg.alt = `the decoder's output ${decodedText.textContent}`;
      clicked = [data.grid.u[i], data.grid.v[j]];
      marker.setAttribute("visibility", "visible");
      root.dataset.decoded = `${i},${j}`;
      draw();
    }

    const pixel = (event) => {  // in the drawing's units, where a narrow page shows it smaller
      const b = svg.getBoundingClientRect();
      return [(event.clientX - b.left) * w / b.width, (event.clientY - b.top) * h / b.height];
    };
    svg.addEventListener("mouseover", (event) => {
      if (event.target.classList.contains("pt")) show(+event.target.dataset.index);
    });
    svg.addEventListener("wheel", (event) => {  // zoom around the pointer
      event.preventDefault();
      const [px, py] = pixel(event), u = sx.invert(px), v = sy.invert(py);
      const k = Math.exp(Math.sign(event.deltaY) * 0.15);
      view = { x0: u + (view.x0 - u) * k, x1: u + (view.x1 - u) * k, y0: v + (view.y0 - v) * k, y1: v + (view.y1 - v) * k };
      draw();
    }, { passive: false });
    let drag = null;
    svg.addEventListener("mousedown", (event) => { drag = { start: pixel(event), view: { ...view }, moved: false }; });
    window.addEventListener("mousemove", (event) => {
      if (!drag) return;
      const [px, py] = pixel(event), dx = px - drag.start[0], dy = py - drag.start[1];
      if (Math.abs(dx) + Math.abs(dy) > 3) drag.moved = true;
      if (!drag.moved) return;
      const kx = (drag.view.x1 - drag.view.x0) / (w - M.left - M.right), ky = (drag.view.y1 - drag.view.y0) / (h - M.top - M.bottom);
      view = { x0: drag.view.x0 - dx * kx, x1: drag.view.x1 - dx * kx, y0: drag.view.y0 + dy * ky, y1: drag.view.y1 + dy * ky };
      draw();
    });
    window.addEventListener("mouseup", (event) => {
      if (drag && !drag.moved && event.target.closest && event.target.closest("svg") === svg) {
        const [px, py] = pixel(event);
        if (px >= M.left && px <= w - M.right && py >= M.top && py <= h - M.bottom) decodeAt(sx.invert(px), sy.invert(py));
      }
      drag = null;
    });
    svg.addEventListener("dblclick", () => { view = { ...home }; draw(); });
    // the keyboard's way (a review: the map was the mouse's alone): arrows step through the samples shown (left and
    // right one, up and down ten), Enter decodes at the current one, + and - zoom around it, 0 resets
    svg.addEventListener("keydown", (event) => {
      const shown = dots.map((d, i) => i).filter((i) => dots[i].style.display !== "none");
      const at = shown.indexOf(+(root.dataset.hovered || 0));
      const step = { ArrowRight: 1, ArrowLeft: -1, ArrowDown: 10, ArrowUp: -10 }[event.key];
      const i = +(root.dataset.hovered || 0);
      if (step !== undefined && shown.length) {
        show(shown[Math.min(shown.length - 1, Math.max(0, (at < 0 ? 0 : at) + step))]);
      } else if (event.key === "Enter" || event.key === " ") {
        decodeAt(xs[i], ys[i]);
      } else if (event.key === "+" || event.key === "-" || event.key === "=") {
        const k = event.key === "-" ? Math.exp(0.3) : Math.exp(-0.3), u = xs[i], v = ys[i];
        view = { x0: u + (view.x0 - u) * k, x1: u + (view.x1 - u) * k, y0: v + (view.y0 - v) * k, y1: v + (view.y1 - v) * k };
        draw();
      } else if (event.key === "0" || event.key === "Home") {
        view = { ...home };
        draw();
      } else {
        return;
      }
      event.preventDefault();
    });
    root.querySelector("button.reset").addEventListener("click", () => { view = { ...home }; draw(); });

    const classes = data.labels ? [...new Set(data.labels)].sort((a, b) => a - b) : [];
    const legend = root.querySelector(".legend");
    if (data.scale) {  // too many labels to tell apart: one colour scale from the first to the last
      const values = Object.keys(data.colours).map(Number).sort((a, b) => a - b);
      legend.title = `${values.length} label values, coloured in their order`;
      legend.innerHTML = `<span class="scale-end">${esc(className(values[0]))}</span>` +
        `<span class="scale-bar" style="background:linear-gradient(to right, ${values.map(colourOf).join(", ")})"></span>` +
        `<span class="scale-end">${esc(className(values[values.length - 1]))}</span>`;
    } else {
      for (const label of classes) {
        legendButton(legend, className(label), colourOf(label), false, (on) => {
          if (on) hidden.delete(label); else hidden.add(label);
          dots.forEach((d, i) => { d.style.display = hidden.has(data.labels[i]) ? "none" : ""; });
        }, shapeOf(label));
      }
    }
    draw();
    show(0);
    decodeAt((home.x0 + home.x1) / 2, (home.y0 + home.y1) / 2);
  }

  // the summary's rows sorted by a column: its heading, a button, sorts up, then down (numbers by value, missing last)
  function sortable(table) {
    const body = table.tBodies[0];
    if (!body || body.rows.length < 2) return;
    table.querySelectorAll("thead th").forEach((th, col) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "sort";
      button.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(button);
      button.addEventListener("click", () => {
        const up = th.getAttribute("aria-sort") !== "ascending";
        table.querySelectorAll("thead th").forEach((other) => other.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", up ? "ascending" : "descending");
        const key = (row) => {
          const cell = row.cells[col];
          return cell && cell.dataset.value !== undefined ? +cell.dataset.value : (cell ? cell.textContent.trim() : "");
        };
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
          const x = key(a), y = key(b);
          const missing = (v) => v === "" || v === "\u2014";
          if (missing(x) || missing(y)) return missing(x) - missing(y);
          const order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true });
          return up ? order : -order;
        });
        rows.forEach((row) => body.appendChild(row));
      });
    });
  }

  document.querySelectorAll("table.summary").forEach(sortable);
  document.querySelectorAll(".curves-plot").forEach(curves);
  document.querySelectorAll(".latent-explorer").forEach(latentMap);
  document.body.dataset.ready = "true";
})();
