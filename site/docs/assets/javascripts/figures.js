// Interactive figures of the Hyperion course: plain JavaScript, no library, nothing from the web.
// A page places <div class="hyp-figure" data-figure="NAME"></div>; this script mounts NAME into it.
// Each figure redraws on every input and writes what it shows into a text line (.hyp-readout) that
// the browser test (site/tests/test_browser.py) reads to check the figure responds.
(function () {
  "use strict";

  function el(tag, attrs, parent) {
    const node = document.createElement(tag);
    Object.entries(attrs || {}).forEach(([k, v]) => {
      if (k === "text") node.textContent = v; else node.setAttribute(k, v);
    });
    if (parent) parent.appendChild(node);
    return node;
  }

  function control(parent, label, attrs, onInput) {
    const wrap = el("label", { class: "hyp-control" }, parent);
    el("span", { text: label + " " }, wrap);
    const input = el(attrs.type === "select" ? "select" : "input", attrs.type === "select" ? { name: attrs.name } : attrs, wrap);
    if (attrs.type === "select") {
      attrs.options.forEach((o) => el("option", { value: o, text: o }, input));
    }
    const value = el("output", {}, wrap);
    const update = () => { value.textContent = attrs.type === "select" || attrs.type === "checkbox" ? "" : " " + input.value; onInput(); };
    input.addEventListener("input", update);
    input.addEventListener("change", update);
    value.textContent = attrs.type === "select" || attrs.type === "checkbox" ? "" : " " + input.value;
    return input;
  }

  function canvas(parent, width, height) {
    const c = el("canvas", { width: width, height: height, class: "hyp-canvas" }, parent);
    return c.getContext("2d");
  }

  function color(t) { // 0..1 -> white..orange
    const r = 255, g = Math.round(255 - 140 * t), b = Math.round(255 - 200 * t);
    return `rgb(${r},${g},${b})`;
  }

  const PALETTE = ["#ef9a9a", "#90caf9", "#a5d6a7", "#fff59d", "#ce93d8", "#ffcc80", "#80deea", "#f48fb1",
    "#c5e1a5", "#b0bec5", "#ffab91", "#9fa8da", "#e6ee9c", "#bcaaa4", "#81d4fa", "#ffe082"];

  // ---------------------------------------------------------------- stride / view explorer
  function strides(root) {
    const controls = el("div", { class: "hyp-controls" }, root);
    const ctx = canvas(root, 680, 330);
    const readout = el("p", { class: "hyp-readout" }, root);
    const rows = control(controls, "rows", { type: "range", min: 1, max: 4, value: 3, name: "rows" }, draw);
    const cols = control(controls, "cols", { type: "range", min: 1, max: 6, value: 4, name: "cols" }, draw);
    const view = control(controls, "view", { type: "select", name: "view",
      options: ["x", "x.T", "x[:, ::2]", "x[1:, 1:]", "x[0:1].expand(3, cols)", "x.reshape(cols, rows)"] }, draw);
    function describe(r, c) {
      const base = { shape: [r, c], strides: [c, 1], offset: 0 };
      switch (view.value) {
        case "x.T": return { shape: [c, r], strides: [1, c], offset: 0 };
        case "x[:, ::2]": return { shape: [r, Math.ceil(c / 2)], strides: [c, 2], offset: 0 };
        case "x[1:, 1:]": return r > 1 && c > 1 ? { shape: [r - 1, c - 1], strides: [c, 1], offset: c + 1 } : null;
        case "x[0:1].expand(3, cols)": return { shape: [3, c], strides: [0, 1], offset: 0 };
        case "x.reshape(cols, rows)": return { shape: [c, r], strides: [r, 1], offset: 0 };
        default: return base;
      }
    }
    function draw() {
      const r = +rows.value, c = +cols.value, n = r * c, s = Math.min(34, Math.floor(660 / n));
      ctx.clearRect(0, 0, 680, 330);
      ctx.font = "12px monospace";
      ctx.fillStyle = "#212121";
      ctx.fillText("storage (flat buffer)", 10, 16);
      for (let a = 0; a < n; a++) {
        ctx.fillStyle = PALETTE[a % PALETTE.length];
        ctx.fillRect(10 + a * s, 24, s - 2, s - 2);
        ctx.fillStyle = "#212121";
        ctx.fillText(String(a), 12 + a * s + s / 4, 45);
      }
      const v = describe(r, c);
      if (!v) { readout.textContent = `${view.value}: empty for this shape`; return; }
      ctx.fillText(`${view.value}: shape (${v.shape}) strides (${v.strides}) offset ${v.offset}`, 10, 90);
      const used = new Set();
      for (let i = 0; i < v.shape[0]; i++) {
        for (let j = 0; j < v.shape[1]; j++) {
          const addr = v.offset + i * v.strides[0] + j * v.strides[1];
          used.add(addr);
          ctx.fillStyle = PALETTE[addr % PALETTE.length];
          ctx.fillRect(10 + j * s, 100 + i * s, s - 2, s - 2);
          ctx.fillStyle = "#212121";
          ctx.fillText(String(addr), 12 + j * s + s / 4, 121 + i * s);
        }
      }
      const contiguous = v.strides[1] === 1 && (v.shape[0] === 1 || v.strides[0] === v.shape[1]);
      readout.textContent = `${view.value}: shape (${v.shape.join(", ")}), strides (${v.strides.join(", ")}), ` +
        `offset ${v.offset}; element [i, j] reads buffer[${v.offset} + ${v.strides[0]}·i + ${v.strides[1]}·j]; ` +
        `${used.size} distinct buffer cells; ${contiguous ? "contiguous" : "not contiguous (reshape would copy)"}`;
    }
    draw();
  }

  // ---------------------------------------------------------------- attention explorer
  function attention(root) {
    const readout = el("p", { class: "hyp-readout", text: "loading the model's scores…" }, root);
    const url = root.getAttribute("data-src");
    fetch(url).then((r) => r.json()).then((data) => attentionWith(root, data, readout)).catch((e) => {
      readout.textContent = "could not load " + url + ": " + e;
    });
  }

  function softmax(xs, temperature) {
    const m = Math.max(...xs.filter((x) => x !== -Infinity));
    const e = xs.map((x) => (x === -Infinity ? 0 : Math.exp((x - m) / temperature)));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  }

  function attentionWith(root, data, readout) {
    el("p", { class: "hyp-about", text: data.about }, root);
    const controls = el("div", { class: "hyp-controls" }, root);
    const n = data.tokens.length, layers = data.scores.length, heads = data.scores[0].length;
    const layer = control(controls, "layer", { type: "range", min: 0, max: layers - 1, value: layers - 1, name: "layer" }, draw);
    const head = control(controls, "head", { type: "range", min: 0, max: heads - 1, value: 0, name: "head" }, draw);
    const mask = control(controls, "mask", { type: "select", name: "mask", options: ["causal", "none", "window 8"] }, draw);
    const temp = control(controls, "temperature", { type: "range", min: 0.1, max: 3, step: 0.1, value: 1, name: "temperature" }, draw);
    const query = control(controls, "query", { type: "range", min: 0, max: n - 1, value: n - 1, name: "query" }, draw);
    const topk = control(controls, "top-k", { type: "range", min: 1, max: 40, value: 10, name: "topk" }, draw);
    const topp = control(controls, "top-p", { type: "range", min: 0.05, max: 1, step: 0.05, value: 0.9, name: "topp" }, draw);
    const cell = 6, size = n * cell;
    const ctx = canvas(root, size + 300, size + 40);
    root.appendChild(readout);  // below the figure
    function masked(i, j) {
      if (mask.value === "causal") return j > i;
      if (mask.value === "window 8") return j > i || j <= i - 8;
      return false;
    }
    function draw() {
      const S = data.scores[+layer.value][+head.value], t = +temp.value, q = +query.value;
      ctx.clearRect(0, 0, size + 300, size + 40);
      for (let i = 0; i < n; i++) {
        const w = softmax(S[i].map((x, j) => (masked(i, j) ? -Infinity : x)), t);
        for (let j = 0; j < n; j++) {
          ctx.fillStyle = masked(i, j) ? "#eeeeee" : color(Math.min(1, w[j] * 2));
          ctx.fillRect(j * cell, i * cell, cell, cell);
        }
      }
      ctx.strokeStyle = "#1565c0";
      ctx.strokeRect(0, q * cell, size, cell);
      // the query row's weights over the characters, then the next-character distribution
      const w = softmax(S[q].map((x, j) => (masked(q, j) ? -Infinity : x)), t);
      const top = w.map((x, j) => [x, j]).sort((a, b) => b[0] - a[0]).slice(0, 3);
      ctx.font = "12px monospace";
      ctx.fillStyle = "#212121";
      ctx.fillText(`query ${q} = ${JSON.stringify(data.tokens[q])}`, size + 12, 14);
      top.forEach(([x, j], k) => ctx.fillText(`attends ${JSON.stringify(data.tokens[j])}@${j}: ${x.toFixed(2)}`, size + 12, 32 + 16 * k));
      // next-character distribution after the query position, filtered by temperature, top-k, top-p
      const p = softmax(data.logits[q], t).map((x, j) => [x, j]).sort((a, b) => b[0] - a[0]);
      let kept = p.slice(0, +topk.value), mass = 0, cut = [];
      for (const pair of kept) { cut.push(pair); mass += pair[0]; if (mass >= +topp.value) break; }
      const total = cut.reduce((a, b) => a + b[0], 0);
      ctx.fillText(`next character (${cut.length} kept):`, size + 12, 96);
      cut.slice(0, 12).forEach(([x, j], k) => {
        ctx.fillStyle = "#ff7043";
        ctx.fillRect(size + 60, 104 + 16 * k, 170 * x / total, 12);
        ctx.fillStyle = "#212121";
        ctx.fillText(JSON.stringify(data.vocab[j]), size + 12, 114 + 16 * k);
        ctx.fillText((x / total).toFixed(2), size + 236, 114 + 16 * k);
      });
      ctx.fillText(data.tokens.join("").slice(0, 60), 0, size + 18);
      readout.textContent = `layer ${layer.value} head ${head.value}, mask ${mask.value}, temperature ${t}: ` +
        `query ${q} ${JSON.stringify(data.tokens[q])} puts ${top[0][0].toFixed(2)} on ${JSON.stringify(data.tokens[top[0][1]])}@${top[0][1]}; ` +
        `top-k ${topk.value} / top-p ${topp.value} keep ${cut.length} next characters, most likely ${JSON.stringify(data.vocab[cut[0][1]])} (${(cut[0][0] / total).toFixed(2)})`;
    }
    draw();
  }

  // ---------------------------------------------------------------- matmul tiling explorer
  function tiling(root) {
    const controls = el("div", { class: "hyp-controls" }, root);
    const ctx = canvas(root, 680, 290);
    const readout = el("p", { class: "hyp-readout" }, root);
    const pow = (name, label, min, max, value) => control(controls, label, { type: "select", name: name,
      options: Array.from({ length: max - min + 1 }, (_, i) => String(2 ** (min + i))) }, draw);
    const bm = pow("bm", "BM", 5, 8), bn = pow("bn", "BN", 5, 8), bk = pow("bk", "BK", 3, 6);
    const tm = pow("tm", "TM", 0, 4), tn = pow("tn", "TN", 0, 3);
    const size = control(controls, "matrix N", { type: "select", name: "n", options: ["1024", "4096", "8192"] }, draw);
    bm.value = "128"; bn.value = "128"; bk.value = "16"; tm.value = "8"; tn.value = "8"; size.value = "4096";
    function draw() {
      const BM = +bm.value, BN = +bn.value, BK = +bk.value, TM = +tm.value, TN = +tn.value, N = +size.value;
      const threads = (BM * BN) / (TM * TN);
      const blocks = Math.ceil(N / BM) * Math.ceil(N / BN);
      const smem = 4 * BK * (BM + BN);                 // fp32 A and B tiles, one stage
      const regs = TM * TN + TM + TN;                  // accumulators + one column of A and row of B
      const loadsPerFma = (TM + TN) / (TM * TN);       // shared-memory loads per FMA, per thread
      const globalIntensity = (2 * BM * BN * BK) / (4 * BK * (BM + BN)); // FLOP per byte from DRAM/L2
      ctx.clearRect(0, 0, 680, 290);
      const scale = 256 / Math.max(BM, BN);
      ctx.fillStyle = "#e8eaf6";
      ctx.fillRect(10, 20, BN * scale, BM * scale);
      ctx.strokeStyle = "#212121";
      ctx.strokeRect(10, 20, BN * scale, BM * scale);
      ctx.fillStyle = "#ff7043";
      ctx.fillRect(10, 20, TN * scale, TM * scale);
      ctx.strokeStyle = "#bdbdbd";
      for (let x = 0; x <= BN; x += TN) { ctx.beginPath(); ctx.moveTo(10 + x * scale, 20); ctx.lineTo(10 + x * scale, 20 + BM * scale); ctx.stroke(); }
      for (let y = 0; y <= BM; y += TM) { ctx.beginPath(); ctx.moveTo(10, 20 + y * scale); ctx.lineTo(10 + BN * scale, 20 + y * scale); ctx.stroke(); }
      ctx.font = "12px sans-serif";
      ctx.fillStyle = "#212121";
      ctx.fillText(`block tile ${BM}×${BN} (to scale), one thread's ${TM}×${TN} tile in orange`, 10, 14);
      const lines = [
        `threads per block: ${BM}·${BN}/(${TM}·${TN}) = ${threads}${threads > 1024 ? "  ✗ over 1024" : threads < 32 ? "  ✗ under one warp" : ""}`,
        `blocks for ${N}×${N}: ${blocks}`,
        `shared memory per stage: 4·${BK}·(${BM}+${BN}) = ${(smem / 1024).toFixed(1)} KiB${smem > 227 * 1024 ? "  ✗ over 227 KiB" : ""}`,
        `registers for the tile: ≥ ${regs} per thread${regs > 255 ? "  ✗ over 255" : ""}`,
        `shared loads per FMA: (${TM}+${TN})/(${TM}·${TN}) = ${loadsPerFma.toFixed(3)}`,
        `FLOP per byte loaded into the block: ${globalIntensity.toFixed(1)}`,
      ];
      lines.forEach((line, k) => ctx.fillText(line, 280, 40 + 20 * k));
      const ok = threads <= 1024 && threads >= 32 && smem <= 227 * 1024 && regs <= 255;
      readout.textContent = `BM=${BM} BN=${BN} BK=${BK} TM=${TM} TN=${TN}: ${threads} threads, ` +
        `${(smem / 1024).toFixed(1)} KiB shared, ${regs}+ registers, ${loadsPerFma.toFixed(3)} shared loads/FMA, ` +
        `${globalIntensity.toFixed(1)} FLOP/B; ${ok ? "launchable" : "not launchable"}`;
    }
    draw();
  }

  // ---------------------------------------------------------------- training dynamics
  function dynamics(root) {
    const controls = el("div", { class: "hyp-controls" }, root);
    const ctx = canvas(root, 680, 260);
    const readout = el("p", { class: "hyp-readout" }, root);
    const lr = control(controls, "peak lr", { type: "range", min: 0.01, max: 0.3, step: 0.01, value: 0.1, name: "lr" }, draw);
    const warm = control(controls, "warm-up steps", { type: "range", min: 0, max: 100, step: 5, value: 20, name: "warmup" }, draw);
    const decay = control(controls, "decay", { type: "select", name: "decay", options: ["cosine", "constant", "linear"] }, draw);
    const momentum = control(controls, "momentum", { type: "range", min: 0, max: 0.95, step: 0.05, value: 0.9, name: "momentum" }, draw);
    const steps = 300;
    function schedule(t) {
      const peak = +lr.value, w = +warm.value;
      if (t < w) return peak * (t + 1) / w;
      const progress = (t - w) / Math.max(1, steps - w);
      if (decay.value === "cosine") return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * progress)));
      if (decay.value === "linear") return peak * (1 - 0.9 * progress);
      return peak;
    }
    function draw() {
      // SGD with momentum on f(x, y) = (x² + 25 y²)/2 with seeded gradient noise (curvatures 1 and 25)
      let seed = 12345;
      const noise = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 - 0.5; };
      let x = 3, y = 1, vx = 0, vy = 0;
      const lrs = [], losses = [];
      let diverged = -1;
      for (let t = 0; t < steps; t++) {
        const a = schedule(t);
        const gx = x + noise() * 0.5, gy = 25 * y + noise() * 0.5;
        vx = +momentum.value * vx + gx; vy = +momentum.value * vy + gy;
        x -= a * vx; y -= a * vy;
        const loss = (x * x + 25 * y * y) / 2;
        lrs.push(a); losses.push(loss);
        if (!(loss < 1e6) && diverged < 0) diverged = t;
      }
      ctx.clearRect(0, 0, 680, 260);
      const plot = (values, x0, title, log) => {
        const w = 320, h = 220, top = 30;
        const vals = values.map((v) => (log ? Math.log10(Math.min(Math.max(v, 1e-6), 1e6)) : v));
        const lo = Math.min(...vals), hi = Math.max(...vals) + 1e-12;
        ctx.strokeStyle = "#9e9e9e"; ctx.strokeRect(x0, top, w, h);
        ctx.strokeStyle = "#5c6bc0"; ctx.beginPath();
        vals.forEach((v, t) => { const px = x0 + w * t / (steps - 1), py = top + h - h * (v - lo) / (hi - lo); if (t) ctx.lineTo(px, py); else ctx.moveTo(px, py); });
        ctx.stroke();
        ctx.fillStyle = "#212121"; ctx.font = "12px sans-serif";
        ctx.fillText(title, x0, 20);
        ctx.fillText(log ? (10 ** hi).toExponential(1) : hi.toFixed(3), x0 + 4, top + 14);
        ctx.fillText(log ? (10 ** lo).toExponential(1) : lo.toFixed(3), x0 + 4, top + h - 4);
      };
      plot(lrs, 10, "learning rate per step", false);
      plot(losses, 350, "loss (log scale) of f = (x² + 25y²)/2, noisy gradients", true);
      const final = losses[steps - 1];
      readout.textContent = `peak lr ${lr.value}, warm-up ${warm.value}, ${decay.value}, momentum ${momentum.value}: ` +
        (diverged >= 0 ? `diverged at step ${diverged} (the 25-curvature direction is unstable at this step size)`
          : `final loss ${final.toExponential(2)}`);
    }
    draw();
  }

  const FIGURES = { strides: strides, attention: attention, tiling: tiling, dynamics: dynamics };

  function mount() {
    document.querySelectorAll(".hyp-figure[data-figure]").forEach((root) => {
      if (root.dataset.mounted) return;
      root.dataset.mounted = "1";
      const make = FIGURES[root.dataset.figure];
      if (!make) { root.textContent = "unknown figure " + root.dataset.figure; return; }
      make(root);
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", mount); else mount();
})();
