"use strict";
// The dashboard's only script. It renders nothing itself: it fetches HTML fragments that the
// server rendered (and escaped) and inserts them, posts every action to the stub's own routes
// (/_control/... and /v2/...), and shows their fault `message` and `errors` when one fails.
// It polls once a second while the tab is visible. Strings from the API are only ever set as
// text (textContent), never as HTML.
(() => {
  const body = document.body;
  const BASE = body.dataset.base; // /_control/dashboard
  const CONTROL = BASE.replace(/\/dashboard$/, ""); // /_control
  const TOKEN_KEY = "logfiles-stub.control-token";
  const POLL_MS = 1000;
  const SLOW_EVERY = 5; // panels that no request changed are refreshed every 5th poll
  const MAX_TAIL_ROWS = 300;
  const TABS = ["agents", "requests", "faults", "clock"];
  const $ = (selector, root = document) => root.querySelector(selector);

  const view = {
    tab: "agents",
    project: "",
    agent: "",
    agentsMarker: null,
    logfilesMarker: null,
    job: null, // the watched job: { project, kind, id }
    scrollToJob: false,
    journal: new URLSearchParams(),
    lastSeq: null,
    running: false,
    unlocked: false,
    timer: null,
    ticks: 0,
    dirty: true,
  };

  class Failure extends Error {
    constructor(status, fault) {
      super(fault.message);
      this.status = status;
      this.fault = fault;
    }
  }

  // Requests: the control token on control-plane calls, the fault body on a failure.

  function controlHeaders(extra) {
    const headers = { ...extra };
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (token !== null) headers["X-Control-Token"] = token;
    return headers;
  }

  async function send(url, { method = "GET", json, text, headers = {}, control = true } = {}) {
    const init = { method, cache: "no-store", headers: control ? controlHeaders(headers) : { ...headers } };
    if (json !== undefined || text !== undefined) {
      init.body = json !== undefined ? JSON.stringify(json) : text;
      init.headers["Content-Type"] = "application/json";
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (error) {
      throw new Failure(0, { message: "The stub could not be reached.", errors: [String(error.message || error)] });
    }
    if (!response.ok) {
      const failure = new Failure(response.status, await faultOf(response));
      if (control && response.status === 401) askForToken(failure.fault);
      throw failure;
    }
    return response;
  }

  async function faultOf(response) {
    const raw = await response.text();
    try {
      const fault = JSON.parse(raw);
      if (fault && typeof fault.message === "string") {
        return { message: fault.message, errors: Array.isArray(fault.errors) ? fault.errors.map(String) : [] };
      }
    } catch (_) {
      // not the fault body: shown as it came
    }
    return { message: `HTTP ${response.status}`, errors: raw ? [raw.slice(0, 500)] : [] };
  }

  function notify(message, errors = [], ok = false) {
    const box = $("#notice");
    box.hidden = false;
    box.classList.toggle("ok", ok);
    $(".notice-message", box).textContent = message;
    $(".notice-errors", box).replaceChildren(
      ...errors.map((problem) => {
        const item = document.createElement("li");
        item.textContent = problem;
        return item;
      }),
    );
  }

  function failed(error) {
    if (error instanceof Failure) notify(error.fault.message, error.fault.errors);
    else notify(String(error));
  }

  async function fill(target, path, params) {
    const query = params && String(params) ? `?${params}` : "";
    const response = await send(`${BASE}/${path}${query}`);
    target.innerHTML = await response.text();
    return response;
  }

  // The panels.

  async function refreshAgents() {
    const params = new URLSearchParams();
    if (view.project) params.set("project", view.project);
    if (view.agent) params.set("agent", view.agent);
    if (view.agentsMarker) params.set("marker", view.agentsMarker);
    await fill($("#agents-panel"), "agents", params);
    if (!view.agent) {
      $("#logfiles-panel").replaceChildren();
      $("#jobs-panel").replaceChildren();
    } else {
      const own = new URLSearchParams({ project: view.project, agent: view.agent });
      await fill($("#jobs-panel"), "jobs", own);
      markWatched();
      if (view.logfilesMarker) own.set("marker", view.logfilesMarker);
      await fill($("#logfiles-panel"), "logfiles", own);
    }
    await refreshJob();
  }

  function markWatched() {
    for (const row of document.querySelectorAll("#jobs-panel tr[data-job]")) {
      const watched = view.job && row.dataset.job === view.job.id && row.dataset.kind === view.job.kind;
      row.classList.toggle("chosen", Boolean(watched));
    }
  }

  // The watched job's pane: its progress as the agent PATCHes it, refreshed with the agents
  // view (a PATCH is a request, so the poll that sees it refreshes the pane).
  async function refreshJob() {
    const pane = $("#job-panel");
    if (!view.job) {
      pane.replaceChildren();
      return;
    }
    try {
      await fill(pane, "job", new URLSearchParams(view.job));
    } catch (error) {
      if (!(error instanceof Failure && error.status === 404)) throw error;
      view.job = null; // gone (its agent deleted, a reset): say why, stop watching
      pane.replaceChildren();
      markWatched();
      failed(error);
      return;
    }
    if (view.scrollToJob) pane.scrollIntoView({ block: "nearest" });
    view.scrollToJob = false;
  }

  // The live tail: entries after the newest seen (`after`), newest first; whether any came.
  async function pollTail(filter = view.journal, restart = false) {
    const params = new URLSearchParams(filter);
    if (!restart && view.lastSeq !== null) params.set("after", view.lastSeq);
    const response = await send(`${BASE}/requests?${params}`);
    const html = await response.text();
    if (!restart && filter !== view.journal) return false; // the filter changed meanwhile
    const last = response.headers.get("X-Last-Seq");
    const changed = last !== String(view.lastSeq);
    const rows = $("#tail-rows");
    if (restart) {
      view.journal = filter;
      rows.replaceChildren();
    }
    view.lastSeq = Number(last);
    const holder = document.createElement("tbody");
    holder.innerHTML = html;
    rows.prepend(...holder.children);
    while (rows.children.length > MAX_TAIL_ROWS) rows.lastElementChild.remove();
    return changed;
  }

  async function refreshClock() {
    await fill($("#clock-badge"), "clock");
    $("#clock-panel").innerHTML = $("#clock-badge").innerHTML;
  }

  async function refreshTimeline() {
    await fill($("#timeline-panel"), "timeline", new URLSearchParams({ minutes: $("#timeline-minutes").value }));
  }

  let busy = false;
  let again = false;

  async function tick() {
    clearTimeout(view.timer);
    view.timer = null;
    if (!view.running) return;
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      const changed = await pollTail();
      await refreshClock();
      const due = changed || view.dirty || view.ticks % SLOW_EVERY === 0;
      view.ticks += 1;
      view.dirty = false;
      if (view.tab === "requests") await refreshTimeline();
      if (view.tab === "agents" && due) await refreshAgents().catch(forgetAgent);
      if (view.tab === "faults" && due) await fill($("#faults-panel"), "faults");
      if (view.running) $("#live").textContent = "live";
    } catch (error) {
      if (!(error instanceof Failure && error.status === 401)) {
        $("#live").textContent = "error";
        failed(error);
      }
    } finally {
      busy = false;
    }
    if (view.running) view.timer = setTimeout(tick, again ? 0 : POLL_MS);
    again = false;
  }

  function forgetAgent(error) {
    // The agent (or a page marker) is gone: show why, and go back to every agent.
    if (error instanceof Failure && error.status === 401) throw error;
    Object.assign(view, { agent: "", agentsMarker: null, logfilesMarker: null });
    failed(error);
  }

  function refreshSoon() {
    view.dirty = true;
    tick();
  }

  function start() {
    view.running = true;
    tick();
  }

  function stop() {
    view.running = false;
    clearTimeout(view.timer);
    view.timer = null;
    $("#live").textContent = "paused";
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) stop();
    else if (view.unlocked) start();
  });

  // The token prompt.

  function askForToken(fault) {
    stop();
    view.unlocked = false;
    sessionStorage.removeItem(TOKEN_KEY);
    $("#main").hidden = true;
    const form = $("#token-form");
    form.hidden = false;
    const problem = $("#token-error");
    problem.hidden = !fault;
    if (fault) problem.textContent = [fault.message, ...fault.errors].join(" ");
    form.elements.token.value = "";
    form.elements.token.focus();
  }

  $("#token-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, event.target.elements.token.value);
    try {
      await send(`${BASE}/clock`);
    } catch (error) {
      if (!(error instanceof Failure && error.status === 401)) failed(error);
      return;
    }
    unlock();
  });

  function unlock() {
    $("#token-form").hidden = true;
    $("#main").hidden = false;
    view.unlocked = true;
    showTab(location.hash.slice(1));
    start();
  }

  // Tabs.

  function showTab(name) {
    view.tab = TABS.includes(name) ? name : "agents";
    view.dirty = true;
    for (const section of document.querySelectorAll("[data-view]")) section.hidden = section.dataset.view !== view.tab;
    for (const link of document.querySelectorAll("[data-tab]")) {
      if (link.dataset.tab === view.tab) link.setAttribute("aria-current", "page");
      else link.removeAttribute("aria-current");
    }
  }

  window.addEventListener("hashchange", () => {
    showTab(location.hash.slice(1));
    tick();
  });

  // Actions: every one is a request to the stub's own routes.

  const control = (path, options) => send(`${CONTROL}/${path}`, options);

  async function act(work, success) {
    try {
      const message = await work();
      notify(typeof message === "string" ? message : success, [], true);
    } catch (error) {
      failed(error);
    }
    refreshSoon();
  }

  function chooseAgent(project, agent) {
    Object.assign(view, { project, agent, agentsMarker: null, logfilesMarker: null });
    const filter = $("#agents-filter").elements;
    filter.project.value = project;
    filter.agent.value = agent;
    const request = $("#request-logfile").elements;
    request.project.value = project;
    request.agent.value = agent;
  }

  const clicks = {
    "choose-agent": (button) => chooseAgent(button.dataset.project, button.dataset.agent),
    "clear-agent-filter": () => chooseAgent("", ""),
    "agents-next": (button) => (view.agentsMarker = button.dataset.marker),
    "agents-first": () => (view.agentsMarker = null),
    "logfiles-next": (button) => (view.logfilesMarker = button.dataset.marker),
    "logfiles-first": () => (view.logfilesMarker = null),
    "watch-job": (button) => {
      const { project, kind, job } = button.dataset;
      view.job = { project, kind, id: job };
      view.scrollToJob = true;
      markWatched();
    },
    "unwatch-job": () => {
      view.job = null;
      markWatched();
    },
    "clear-journal": () =>
      act(async () => {
        await control("requests", { method: "DELETE" });
        $("#tail-rows").replaceChildren();
      }, "The journal is cleared."),
    "clear-faults": () => act(() => control("faults", { method: "DELETE" }), "Every fault rule is removed."),
    "remove-fault": (button) =>
      act(
        () => control(`faults/${encodeURIComponent(button.dataset.fault)}`, { method: "DELETE" }),
        `Fault rule ${button.dataset.fault} is removed.`,
      ),
    "freeze-now": () => act(() => clock({ freeze: "now" })),
    "real-time": () => act(() => clock({ real: true })),
    export: () => act(exportState, "The state is exported."),
    reset: (button) => {
      if (button.dataset.armed !== "yes") {
        button.dataset.armed = "yes";
        button.textContent = "Click again to reset everything";
        setTimeout(() => {
          delete button.dataset.armed;
          button.textContent = "Reset everything";
        }, 4000);
        return;
      }
      delete button.dataset.armed;
      button.textContent = "Reset everything";
      act(async () => {
        await control("reset", { method: "POST" });
        chooseAgent("", "");
        view.job = null;
      }, "Everything is reset.");
    },
  };

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-action]");
    if (button && clicks[button.dataset.action]) {
      clicks[button.dataset.action](button);
      refreshSoon();
      return;
    }
    const row = event.target.closest("#tail-rows tr[data-seq]");
    if (row) showEntry(row);
  });

  $("#tail-rows").addEventListener("keydown", (event) => {
    const row = event.target.closest("tr[data-seq]");
    if (row && event.key === "Enter") showEntry(row);
  });

  async function showEntry(row) {
    for (const other of document.querySelectorAll("#tail-rows tr.chosen")) other.classList.remove("chosen");
    row.classList.add("chosen");
    try {
      await fill($("#request-detail"), `requests/${row.dataset.seq}`);
    } catch (error) {
      failed(error);
    }
  }

  async function clock(command) {
    const setting = await (await control("clock", { method: "POST", json: command })).json();
    return setting.frozen ? `The clock is frozen at ${setting.now}.` : `The clock runs: now ${setting.now}.`;
  }

  async function exportState() {
    const blob = await (await control("state")).blob();
    const link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = "logfiles-state.json";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  // A typed value as JSON when it reads as JSON (503, 0.5, null, {...}), else the text
  // itself: the API, not this page, says what is wrong with it.
  function typed(text) {
    try {
      return JSON.parse(text);
    } catch (_) {
      return text;
    }
  }

  function onSubmit(selector, handler) {
    $(selector).addEventListener("submit", (event) => {
      event.preventDefault();
      handler(event.target.elements, event.target);
    });
  }

  onSubmit("#agents-filter", async (fields) => {
    const before = { ...view };
    Object.assign(view, { project: fields.project.value.trim(), agent: fields.agent.value.trim() });
    Object.assign(view, { agentsMarker: null, logfilesMarker: null });
    try {
      await refreshAgents();
    } catch (error) {
      Object.assign(view, { project: before.project, agent: before.agent });
      failed(error);
    }
  });

  onSubmit("#request-logfile", (fields) =>
    act(async () => {
      const project = encodeURIComponent(fields.project.value.trim());
      const agent = encodeURIComponent(fields.agent.value.trim());
      const headers = { "X-Auth-Token": fields.token.value };
      const response = await send(`/v2/${project}/agents/${agent}/logfiles`, { method: "POST", headers, control: false });
      const logfile = await response.json();
      return `Log file ${logfile.id} requested (${response.status}).`;
    }),
  );

  onSubmit("#journal-filter", async (fields) => {
    const filter = new URLSearchParams();
    for (const name of ["method", "path", "status", "since", "agent_id"]) {
      const value = fields[name].value.trim();
      if (value) filter.set(name, value);
    }
    try {
      await pollTail(filter, true);
    } catch (error) {
      failed(error);
    }
  });

  onSubmit("#fault-form", (fields) =>
    act(async () => {
      const rule = {};
      for (const field of fields) {
        if (!field.name || field.value.trim() === "") continue;
        if ("json" in field.dataset) rule[field.name] = typed(field.value.trim());
        else if ("lines" in field.dataset) rule[field.name] = field.value.split("\n").filter((line) => line.trim());
        else rule[field.name] = field.value;
      }
      const added = await (await control("faults", { method: "POST", json: rule })).json();
      return `Fault rule ${added.id} added.`;
    }),
  );

  onSubmit("#freeze-at", (fields) => act(() => clock({ freeze: fields.at.value.trim() })));
  onSubmit("#advance", (fields) => act(() => clock({ advance: typed(fields.seconds.value.trim()) })));

  onSubmit("#import", (fields) =>
    act(async () => {
      const file = fields.document.files[0];
      if (!file) throw new Failure(0, { message: "Choose a state document to import first.", errors: [] });
      const method = fields.mode.value === "replace" ? "PUT" : "POST";
      const answer = await (await control("state", { method, text: await file.text() })).json();
      const counts = Object.entries(answer.counts).map(([name, n]) => `${n} ${name}`);
      return `Imported ${file.name}: ${counts.join(", ")}.`;
    }),
  );

  $("#timeline-minutes").addEventListener("change", refreshSoon);
  $("#notice").addEventListener("click", () => ($("#notice").hidden = true));

  if (body.dataset.tokenRequired === "yes" && sessionStorage.getItem(TOKEN_KEY) === null) askForToken(null);
  else unlock();
})();
