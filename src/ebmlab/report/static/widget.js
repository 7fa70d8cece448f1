// ebmlab report: the interactive free energy of a trained 2-D model (ellipse or K-means).
//
// For every point y of the plane and every latent z of the finite set Z:
//   ellipse: E(y, z) = (y1 - w1 cos z)^2 + (y2 - w2 sin z)^2, z on the trained grid
//   kmeans:  E(y, k) = ||y - c_k||^2, k = 1..K
//   F_beta(y) = -(1/beta) log((1/|Z|) sum_z exp(-beta E(y, z))),  F_inf(y) = min_z E(y, z)
// computed in double precision from the parameters the report embeds (ebmlab/report/interactive.py).
// Each widget is exposed as window.ebmlabWidgets[id] for the browser test.
(function () {
  "use strict";

  // viridis, 9 stops
  const PALETTE = [
    [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
    [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
  ];
  const GRID = 150; // cells per side of the F_beta map
  const COLD = 100; // slider position meaning beta = infinity

  function colour(t) {
    const x = Math.min(Math.max(t, 0), 1) * (PALETTE.length - 1);
    const i = Math.min(Math.floor(x), PALETTE.length - 2);
    const f = x - i;
    return PALETTE[i].map((c, j) => Math.round(c + f * (PALETTE[i + 1][j] - c)));
  }

  function betaOf(position) {
    return position >= COLD ? Infinity : Math.pow(10, -2 + (4 * position) / COLD);
  }

  function formatBeta(beta) {
    return beta === Infinity ? "∞" : beta.toPrecision(3).replace(/\.?0+$/, "");
  }

  function makeModel(data) {
    if (data.kind === "ellipse") {
      const w1 = data.w[0], w2 = data.w[1], z = data.z;
      const cos = z.map(Math.cos), sin = z.map(Math.sin);
      return {
        size: z.length,
        energies(y1, y2, out) {
          for (let k = 0; k < z.length; k++) {
            const a = y1 - w1 * cos[k], b = y2 - w2 * sin[k];
            out[k] = a * a + b * b;
          }
          return out;
        },
        decode(k) { return [w1 * cos[k], w2 * sin[k]]; },
        latentLabel(k) { return "z = " + z[k].toFixed(4) + " rad (grid point " + (k + 1) + " of " + z.length + ")"; },
        axisLabel: "latent z (angle, radians)",
        latentValue(k) { return z[k]; },
      };
    }
    const c = data.centroids;
    return {
      size: c.length,
      energies(y1, y2, out) {
        for (let k = 0; k < c.length; k++) {
          const a = y1 - c[k][0], b = y2 - c[k][1];
          out[k] = a * a + b * b;
        }
        return out;
      },
      decode(k) { return c[k]; },
      latentLabel(k) { return "cluster " + (k + 1) + " of " + c.length; },
      axisLabel: "latent z (cluster k)",
      latentValue(k) { return k + 1; },
    };
  }

  // F_beta from the energies of one y: a shifted log-sum-exp, exact at beta = infinity
  function freeEnergyOf(energies, beta) {
    let m = Infinity;
    for (const e of energies) m = Math.min(m, e);
    if (beta === Infinity) return m;
    let s = 0;
    for (const e of energies) s += Math.exp(-beta * (e - m));
    return m - (Math.log(s) - Math.log(energies.length)) / beta;
  }

  function argmin(energies) {
    let best = 0;
    for (let k = 1; k < energies.length; k++) if (energies[k] < energies[best]) best = k;
    return best;
  }

  function setup(root) {
    const data = JSON.parse(root.querySelector("script.widget-data").textContent);
    const model = makeModel(data);
    const slider = root.querySelector("input.beta");
    const betaText = root.querySelector(".beta-value");
    const map = root.querySelector("canvas.map");
    const plot = root.querySelector("canvas.energy");
    const [x0, x1, y0, y1] = data.extent;
    const scratch = new Float64Array(model.size);
    const state = { y: data.y0.slice(), beta: betaOf(Number(slider.value)) };
    const margin = { left: 52, right: 70, top: 14, bottom: 44 };
    const side = Math.min(map.width - margin.left - margin.right, map.height - margin.top - margin.bottom);
    const toPx = (u, v) => [margin.left + ((u - x0) / (x1 - x0)) * side, margin.top + ((y1 - v) / (y1 - y0)) * side];
    const fromPx = (px, py) => [x0 + ((px - margin.left) / side) * (x1 - x0), y1 - ((py - margin.top) / side) * (y1 - y0)];
    const cells = document.createElement("canvas");
    cells.width = cells.height = GRID;
    let field = null; // F_beta on the grid, and its range, for the current beta

    function computeField() {
      const values = new Float64Array(GRID * GRID);
      let lo = Infinity, hi = -Infinity;
      for (let r = 0; r < GRID; r++) {
        const v = y1 - ((r + 0.5) / GRID) * (y1 - y0);
        for (let c = 0; c < GRID; c++) {
          const u = x0 + ((c + 0.5) / GRID) * (x1 - x0);
          const f = freeEnergyOf(model.energies(u, v, scratch), state.beta);
          values[r * GRID + c] = f;
          lo = Math.min(lo, f);
          hi = Math.max(hi, f);
        }
      }
      // colour by sqrt of (F - min): at beta = infinity that is the distance to the model's manifold
      const image = cells.getContext("2d").createImageData(GRID, GRID);
      const span = Math.sqrt(Math.max(hi - lo, 1e-12));
      for (let i = 0; i < values.length; i++) {
        const rgb = colour(Math.sqrt(values[i] - lo) / span);
        image.data.set([rgb[0], rgb[1], rgb[2], 255], 4 * i);
      }
      cells.getContext("2d").putImageData(image, 0, 0);
      field = { lo, hi };
    }

    function ticks(lo, hi, n) {
      const step = Math.pow(10, Math.floor(Math.log10((hi - lo) / n)));
      const nice = [1, 2, 5, 10].map((m) => m * step).find((s) => (hi - lo) / s <= n) || 10 * step;
      const out = [];
      for (let t = Math.ceil(lo / nice) * nice; t <= hi + 1e-12; t += nice) out.push(Number(t.toPrecision(6)));
      return out;
    }

    function drawMap() {
      const g = map.getContext("2d");
      g.clearRect(0, 0, map.width, map.height);
      g.imageSmoothingEnabled = true;
      g.drawImage(cells, margin.left, margin.top, side, side);
      // training points
      g.fillStyle = "rgba(255,255,255,0.55)";
      for (const p of data.points) {
        const [px, py] = toPx(p[0], p[1]);
        g.fillRect(px - 1, py - 1, 2, 2);
      }
      // the model: the decoded latents Dec(z)
      g.fillStyle = "#ffffff";
      g.strokeStyle = "#000000";
      for (let k = 0; k < model.size; k++) {
        const [px, py] = toPx(...model.decode(k));
        g.beginPath();
        g.arc(px, py, data.kind === "kmeans" ? 5 : 2.2, 0, 2 * Math.PI);
        g.fill();
        g.stroke();
      }
      // y, its best latent's decoding Dec(ž), and the segment between them
      const energies = model.energies(state.y[0], state.y[1], scratch);
      const best = argmin(energies);
      const [ux, uy] = toPx(...state.y), [dx, dy] = toPx(...model.decode(best));
      g.strokeStyle = "#ff3b30";
      g.lineWidth = 2;
      g.setLineDash([4, 3]);
      g.beginPath();
      g.moveTo(ux, uy);
      g.lineTo(dx, dy);
      g.stroke();
      g.setLineDash([]);
      g.beginPath();
      g.arc(dx, dy, 6, 0, 2 * Math.PI);
      g.stroke();
      g.fillStyle = "#ff3b30";
      g.beginPath();
      g.arc(ux, uy, 5, 0, 2 * Math.PI);
      g.fill();
      g.lineWidth = 1;
      // axes
      g.strokeStyle = "#222";
      g.strokeRect(margin.left, margin.top, side, side);
      g.fillStyle = "#222";
      g.font = "12px sans-serif";
      g.textAlign = "center";
      for (const t of ticks(x0, x1, 6)) {
        const [px] = toPx(t, y0);
        g.fillText(String(t), px, margin.top + side + 16);
      }
      g.fillText("y₁", margin.left + side / 2, margin.top + side + 34);
      g.textAlign = "right";
      for (const t of ticks(y0, y1, 6)) {
        const [, py] = toPx(x0, t);
        g.fillText(String(t), margin.left - 6, py + 4);
      }
      g.save();
      g.translate(14, margin.top + side / 2);
      g.rotate(-Math.PI / 2);
      g.textAlign = "center";
      g.fillText("y₂", 0, 0);
      g.restore();
      // colour bar, labelled in F_beta
      const bx = margin.left + side + 14, bw = 14;
      for (let i = 0; i < side; i++) {
        const rgb = colour(1 - i / side);
        g.fillStyle = "rgb(" + rgb.join(",") + ")";
        g.fillRect(bx, margin.top + i, bw, 1.5);
      }
      g.strokeRect(bx, margin.top, bw, side);
      g.fillStyle = "#222";
      g.textAlign = "left";
      for (const q of [0, 0.25, 0.5, 0.75, 1]) {
        const value = field.lo + q * q * (field.hi - field.lo);
        g.fillText(value.toPrecision(3), bx + bw + 4, margin.top + (1 - q) * side + 4);
      }
    }

    function drawEnergies() {
      const g = plot.getContext("2d");
      const m = { left: 56, right: 16, top: 28, bottom: 42 };
      const w = plot.width - m.left - m.right, h = plot.height - m.top - m.bottom;
      g.clearRect(0, 0, plot.width, plot.height);
      const energies = Array.from(model.energies(state.y[0], state.y[1], scratch));
      const best = argmin(energies);
      const f = freeEnergyOf(energies, state.beta);
      const top = Math.max(...energies) * 1.05 || 1;
      const px = (k) => m.left + ((k + 0.5) / energies.length) * w;
      const py = (e) => m.top + h - (e / top) * h;
      // Gibbs weights p_beta(z | y), shaded, scaled to the panel's height
      const weights = energies.map((e) => (state.beta === Infinity ? (e === energies[best] ? 1 : 0) : Math.exp(-state.beta * (e - energies[best]))));
      const total = weights.reduce((a, b) => a + b, 0);
      const peak = Math.max(...weights) / total;
      g.fillStyle = "rgba(255,59,48,0.18)";
      const bar = Math.max(w / energies.length - 1, 1);
      weights.forEach((q, k) => {
        const height = (q / total / peak) * h;
        g.fillRect(px(k) - bar / 2, m.top + h - height, bar, height);
      });
      // E(y, z) against z
      g.strokeStyle = "#1f4e9c";
      g.fillStyle = "#1f4e9c";
      g.beginPath();
      if (data.kind === "kmeans") {
        // a categorical latent: one stem per cluster
        energies.forEach((e, k) => { g.moveTo(px(k), py(0)); g.lineTo(px(k), py(e)); });
      } else {
        energies.forEach((e, k) => (k ? g.lineTo(px(k), py(e)) : g.moveTo(px(k), py(e))));
      }
      g.stroke();
      energies.forEach((e, k) => {
        g.beginPath();
        g.arc(px(k), py(e), data.kind === "kmeans" ? 4 : 2.5, 0, 2 * Math.PI);
        g.fill();
      });
      // F_beta(y) and ž
      g.strokeStyle = "#222";
      g.setLineDash([5, 4]);
      g.beginPath();
      g.moveTo(m.left, py(f));
      g.lineTo(m.left + w, py(f));
      g.stroke();
      g.setLineDash([]);
      g.fillStyle = "#ff3b30";
      g.beginPath();
      g.arc(px(best), py(energies[best]), 6, 0, 2 * Math.PI);
      g.fill();
      // axes and labels
      g.strokeStyle = "#222";
      g.strokeRect(m.left, m.top, w, h);
      g.fillStyle = "#222";
      g.font = "12px sans-serif";
      g.textAlign = "right";
      for (const t of ticks(0, top, 5)) g.fillText(String(t), m.left - 6, py(t) + 4);
      g.textAlign = "center";
      const every = Math.max(1, Math.ceil(energies.length / 8));
      for (let k = 0; k < energies.length; k += every) {
        const value = model.latentValue(k);
        g.fillText(Number.isInteger(value) ? String(value) : value.toFixed(2), px(k), m.top + h + 16);
      }
      g.fillText(model.axisLabel, m.left + w / 2, m.top + h + 34);
      g.save();
      g.translate(14, m.top + h / 2);
      g.rotate(-Math.PI / 2);
      g.fillText("E(y, z)", 0, 0);
      g.restore();
      g.textAlign = "left";
      g.fillText("blue: E(y, z)    dashed: F_β(y)    red dot: ž    shaded: p_β(z | y)", m.left, m.top - 10);
    }

    function readout() {
      const energies = model.energies(state.y[0], state.y[1], scratch);
      const best = argmin(energies);
      const f = freeEnergyOf(energies, state.beta);
      const set = (name, text, value) => {
        const cell = root.querySelector(".readout ." + name);
        cell.textContent = text;
        if (value !== undefined) cell.dataset.value = String(value);
      };
      set("y", "(" + state.y[0].toFixed(4) + ", " + state.y[1].toFixed(4) + ")", state.y.join(","));
      set("zhat", model.latentLabel(best), best);
      set("emin", energies[best].toPrecision(8), energies[best]);
      set("f", f.toPrecision(10), f);
      set("beta", formatBeta(state.beta), state.beta);
      betaText.textContent = "β = " + formatBeta(state.beta);
    }

    function redraw(newField) {
      if (newField || !field) computeField();
      drawMap();
      drawEnergies();
      readout();
    }

    slider.addEventListener("input", () => {
      state.beta = betaOf(Number(slider.value));
      redraw(true);
    });
    function moveTo(event) {
      const box = map.getBoundingClientRect();
      const px = ((event.clientX - box.left) / box.width) * map.width;
      const py = ((event.clientY - box.top) / box.height) * map.height;
      const [u, v] = fromPx(px, py);
      if (u < x0 || u > x1 || v < y0 || v > y1) return;
      state.y = [u, v];
      redraw(false);
    }
    map.addEventListener("pointerdown", (event) => {
      map.setPointerCapture(event.pointerId);
      moveTo(event);
    });
    map.addEventListener("pointermove", (event) => {
      if (event.buttons) moveTo(event);
    });
    redraw(true);

    window.ebmlabWidgets = window.ebmlabWidgets || {};
    window.ebmlabWidgets[root.id] = {
      data,
      state,
      freeEnergy: (y, beta) => freeEnergyOf(Array.from(model.energies(y[0], y[1], scratch)), beta),
      betaOf,
      setY(y) { state.y = y.slice(); redraw(false); },
    };
  }

  document.querySelectorAll(".widget").forEach(setup);
})();
