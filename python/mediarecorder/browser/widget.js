// The browser side of mediarecorder.browser (issue 27): asks the browser for the media, records
// it with the browser's own MediaRecorder, and streams each chunk to the kernel as binary comm
// buffers. The kernel drives it with messages; the record/stop buttons ask the kernel.
// Loaded by anywidget as it is (no build step). One page records per model: every page that
// shows the notebook says hello, the kernel answers "own" to one of them.

const states = new Map(); // uid -> the model's shared state (initialize and every view)

function stateOf(model) {
  const uid = model.get("uid");
  if (!states.has(uid)) {
    states.set(uid, {
      client: Math.random().toString(36).slice(2) + Date.now().toString(36),
      owner: false, stream: null, error: null, streamWaiters: [],
      rec: null, session: 0, startedAt: 0, blobs: [], mime: "", views: new Set(),
      stopAlive: null,
    });
  }
  return states.get(uid);
}

function notify(st) { for (const v of st.views) v(); }

async function acquire(model, st) {
  const c = model.get("constraints");
  try {
    const md = navigator.mediaDevices;
    if (!md) throw new DOMException("navigator.mediaDevices is not available (not a secure context?)", "NotSupportedError");
    st.stream = model.get("kind") === "display" ? await md.getDisplayMedia(c) : await md.getUserMedia(c);
    const tracks = st.stream.getTracks().map((t) => ({ kind: t.kind, label: t.label, settings: t.getSettings() }));
    model.send({ type: "stream", client: st.client, tracks });
    for (const t of st.stream.getTracks()) {
      t.addEventListener("ended", () => model.send({ type: "ended", client: st.client, kind: t.kind }));
    }
  } catch (e) {
    if (model.get("kind") === "display" && e.name === "InvalidStateError" && !st.gestured) {
      // getDisplayMedia needs a click (transient activation): the Record button asks again.
      st.needsGesture = true;
      notify(st);
      return;
    }
    st.error = e;
    model.send({ type: "error", client: st.client, phase: "stream", name: e.name || "Error", message: e.message || String(e) });
  }
  for (const w of st.streamWaiters.splice(0)) w();
  notify(st);
}

function streamReady(st) {
  if (st.stream || st.error) return Promise.resolve();
  return new Promise((r) => st.streamWaiters.push(r));
}

// A chunk larger than the comm allows travels in parts: whole ArrayBuffers, never offset views.
// `left` (ms since the epoch): when the browser's recorder handed the chunk over.
async function sendChunk(model, st, session, blob, timecode, left) {
  const limit = model.get("chunk_limit");
  const buf = await blob.arrayBuffer();
  const parts = Math.max(1, Math.ceil(buf.byteLength / limit));
  for (let i = 0; i < parts; i++) {
    const part = buf.slice(i * limit, Math.min(buf.byteLength, (i + 1) * limit));
    model.send({ type: "chunk", session, part: i, last: i === parts - 1, timecode,
                 mimeType: blob.type, left }, undefined, [part]);
  }
}

async function start(model, st, msg) {
  const session = msg.session;
  await streamReady(st);
  const fail = (name, message) => {
    model.send({ type: "error", session, name, message });
    model.send({ type: "stop", session, empty: true });
  };
  if (st.error) return fail(st.error.name || "Error", st.error.message || String(st.error));
  if (msg.mimeType && !MediaRecorder.isTypeSupported(msg.mimeType)) {
    return fail("NotSupportedError", `mimeType ${JSON.stringify(msg.mimeType)} is not supported by this browser`);
  }
  const options = {};
  for (const k of ["mimeType", "audioBitsPerSecond", "videoBitsPerSecond", "bitsPerSecond", "videoKeyFrameIntervalDuration"]) {
    if (msg[k]) options[k] = msg[k];
  }
  let rec;
  try {
    rec = new MediaRecorder(st.stream, options);
  } catch (e) {
    return fail(e.name || "NotSupportedError", e.message || String(e));
  }
  // Sends in the order the browser fired: Blob.arrayBuffer() is async, `stop` must not
  // overtake the last chunk.
  let chain = Promise.resolve();
  const then = (f) => { chain = chain.then(f).catch((e) => console.error("mediarecorder", e)); };
  // `ran`: ms from rec.start() to rec.stop() (or to its own end) on the page's clock: the span
  // the media covers, for the kernel's checks.
  const started = { at: 0, stopped: 0 };
  rec.onstart = () => then(() => model.send({ type: "start", session, mimeType: rec.mimeType }));
  rec.ondataavailable = (e) => {
    st.blobs.push(e.data);
    const left = Date.now();
    then(() => sendChunk(model, st, session, e.data, e.timecode || 0, left));
  };
  rec.onpause = () => then(() => model.send({ type: "pause", session }));
  rec.onresume = () => then(() => model.send({ type: "resume", session }));
  rec.onerror = (e) => then(() => model.send({ type: "error", session, name: e.error?.name || "UnknownError", message: e.error?.message || "" }));
  let alive = 0;
  rec.onstop = () => { const ran = (started.stopped || performance.now()) - started.at; then(() => {
    model.send({ type: "stop", session, ran });
    clearInterval(alive);
    if (st.rec === rec) { st.rec = null; st.mime = rec.mimeType; }
    notify(st);
  }); };
  st.rec = rec; st.session = session; st.blobs = []; st.startedAt = performance.now();
  st.started = started;
  st.pausedFor = 0; st.pausedAt = 0;
  // While recording, the kernel hears from this page at least twice a second: a page that
  // went silent (closed, crashed) ends the kernel's recording with what arrived.
  alive = setInterval(() => model.send({ type: "alive", client: st.client }), 500);
  st.stopAlive = () => clearInterval(alive);
  started.at = performance.now();
  if (msg.timeslice === null || msg.timeslice === undefined) rec.start(); else rec.start(msg.timeslice);
  notify(st);
}

function command(st, msg) {
  const rec = st.rec;
  if (!rec || st.session !== msg.session || rec.state === "inactive") return;
  if (msg.type === "stop") { st.started.stopped = performance.now(); rec.stop(); }
  else if (msg.type === "pause") { rec.pause(); st.pausedAt = performance.now(); }
  else if (msg.type === "resume") { rec.resume(); st.pausedFor += performance.now() - st.pausedAt; st.pausedAt = 0; }
  else if (msg.type === "requestData") rec.requestData();
}

function initialize({ model }) {
  const st = stateOf(model);
  const onMsg = (msg) => {
    if (msg.client !== st.client) return; // for the page that owns the media
    if (msg.type === "own") {
      if (st.owner) return;
      st.owner = true;
      acquire(model, st);
    } else if (msg.type === "start") {
      if (st.owner) start(model, st, msg);
    } else if (st.owner) {
      command(st, msg);
    }
  };
  model.on("msg:custom", onMsg);
  model.send({ type: "hello", client: st.client });
  return () => {
    model.off("msg:custom", onMsg);
    st.stopAlive?.();
    if (st.rec && st.rec.state !== "inactive") st.rec.stop();
    if (st.stream) for (const t of st.stream.getTracks()) t.stop();
    states.delete(model.get("uid"));
  };
}

function level(st, meter) {
  // The live level of the first audio track: RMS of the newest analyser window, in dBFS.
  const track = st.stream?.getAudioTracks()[0];
  if (!track) return () => {};
  const ctx = new AudioContext();
  // Without a gesture on the page yet, the context starts suspended: the first click wakes it.
  if (ctx.state === "suspended") document.addEventListener("pointerdown", () => ctx.resume(), { once: true });
  const src = ctx.createMediaStreamSource(new MediaStream([track]));
  const an = ctx.createAnalyser();
  an.fftSize = 2048;
  src.connect(an);
  const buf = new Float32Array(an.fftSize);
  let raf = 0;
  const tick = () => {
    an.getFloatTimeDomainData(buf);
    let sum = 0;
    for (const v of buf) sum += v * v;
    const rms = Math.sqrt(sum / buf.length);
    const db = rms > 0 ? 20 * Math.log10(rms) : -100;
    meter.value = Math.max(0, Math.min(60, db + 60));
    meter.title = `${db.toFixed(1)} dBFS`;
    raf = requestAnimationFrame(tick);
  };
  tick();
  return () => { cancelAnimationFrame(raf); ctx.close(); };
}

function render({ model, el }) {
  const st = stateOf(model);
  el.classList.add("mediarecorder-browser");
  el.innerHTML = `<button class="mr-record">● Record</button><button class="mr-stop" disabled>■ Stop</button>
    <span class="mr-time">0:00.0</span> <meter class="mr-level" min="0" max="60" low="40" high="54" optimum="20" value="0"></meter>
    <span class="mr-status"></span><div class="mr-player"></div>`;
  const [recordBtn, stopBtn] = el.querySelectorAll("button");
  const time = el.querySelector(".mr-time");
  const meter = el.querySelector(".mr-level");
  const status = el.querySelector(".mr-status");
  const player = el.querySelector(".mr-player");
  recordBtn.onclick = async () => {
    if (st.needsGesture) { st.needsGesture = false; st.gestured = true; await acquire(model, st); }
    model.send({ type: "ui", action: "record" });
  };
  stopBtn.onclick = () => model.send({ type: "ui", action: "stop" });
  let stopLevel = () => {};
  let shownFor = null;
  let url = null;
  const update = () => {
    const recording = !!st.rec && st.rec.state !== "inactive";
    recordBtn.disabled = recording || !(st.stream || st.needsGesture);
    stopBtn.disabled = !recording;
    status.textContent = st.error ? `${st.error.name}: ${st.error.message}` : !st.owner ? "recording in another page" : st.needsGesture ? "Record asks what to share" : !st.stream ? "asking for the media..." : recording ? st.rec.state : "";
    if (st.stream && shownFor !== st.stream) { stopLevel(); stopLevel = level(st, meter); shownFor = st.stream; }
    if (!recording && st.blobs.length) {
      // Afterwards: the recording as the browser made it, played inline.
      if (url) URL.revokeObjectURL(url);
      url = URL.createObjectURL(new Blob(st.blobs, { type: st.mime }));
      const video = st.stream?.getVideoTracks().length > 0;
      player.innerHTML = video ? `<video controls width="320"></video>` : `<audio controls></audio>`;
      player.firstChild.src = url;
    } else if (recording) {
      player.innerHTML = "";
    }
  };
  const timer = setInterval(() => {
    if (st.rec && st.rec.state !== "inactive") {
      const paused = st.pausedAt ? performance.now() - st.pausedAt : 0;
      const s = (performance.now() - st.startedAt - st.pausedFor - paused) / 1000;
      time.textContent = `${Math.floor(s / 60)}:${(s % 60).toFixed(1).padStart(4, "0")}`;
    }
  }, 100);
  st.views.add(update);
  update();
  return () => { st.views.delete(update); clearInterval(timer); stopLevel(); if (url) URL.revokeObjectURL(url); };
}

export default { initialize, render };
