// The oae page: edit a GraphQL document, pick an operation, run it against POST /graphql.
// No framework and no network beyond this server: the page must work offline.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const docInput = $("document");
  const opSelect = $("operation");
  const opKind = $("operation-kind");
  const varsInput = $("variables");
  const varsError = $("variables-error");
  const runButton = $("run");
  const statusBadge = $("status");
  const output = $("response");

  // Variable values by name: the server's examples (e.g. the seeded demo assistant),
  // then ids read from responses (threadId, runId, ...) so the next operation can use them.
  let examples = {};
  const remembered = {};
  let operations = [];
  // Variables the user typed, by operation, restored when that operation is picked again.
  const editedVariables = {};

  // ------------------------------------------------------------------ parsing the document
  function stripCommentsAndStrings(text) {
    return text
      .replace(/"""[\s\S]*?"""/g, (m) => m.replace(/[^\n]/g, " "))
      .replace(/"(?:[^"\\\n]|\\.)*"/g, (m) => " ".repeat(m.length))
      .replace(/#[^\n]*/g, "");
  }

  function parseOperations(text) {
    const clean = stripCommentsAndStrings(text);
    const found = [];
    const pattern = /(^|[\s};])(query|mutation|subscription)\s+([_A-Za-z][_0-9A-Za-z]*)\s*(\(([^)]*)\))?/g;
    let match;
    while ((match = pattern.exec(clean)) !== null) {
      found.push({ kind: match[2], name: match[3], variables: parseVariables(match[5] || "") });
    }
    return found;
  }

  function parseVariables(text) {
    return text
      .split("$")
      .slice(1)
      .map((chunk) => chunk.match(/^\s*([_A-Za-z]\w*)\s*:\s*([\w\[\]!\s]+?)\s*(=[^,]*)?[,\s]*$/))
      .filter(Boolean)
      .map((m) => ({ name: m[1], type: m[2].replace(/\s+/g, ""), hasDefault: Boolean(m[3]) }));
  }

  function placeholder(type) {
    if (!type.endsWith("!")) return null;
    const base = type.slice(0, -1);
    if (base.startsWith("[")) return [];
    switch (base) {
      case "Int": return 1;
      case "Float": return 0;
      case "Boolean": return false;
      case "JSON": return {};
      case "DateTime": return new Date().toISOString();
      default: return "";
    }
  }

  function variablesFor(operation) {
    const values = {};
    for (const variable of operation.variables) {
      if (variable.name in remembered) values[variable.name] = remembered[variable.name];
      else if (variable.name in examples) values[variable.name] = examples[variable.name];
      else values[variable.name] = placeholder(variable.type);
    }
    return values;
  }

  // ------------------------------------------------------------------ the form
  function refreshOperations() {
    const previous = opSelect.value;
    operations = parseOperations(docInput.value);
    opSelect.textContent = "";
    if (operations.length === 0) {
      const option = new Option("(whole document, no named operation)", "");
      opSelect.add(option);
    }
    for (const op of operations) {
      const option = new Option(`${op.name}  ·  ${op.kind}`, op.name);
      opSelect.add(option);
    }
    if (operations.some((op) => op.name === previous)) opSelect.value = previous;
    showKind();
  }

  function currentOperation() {
    return operations.find((op) => op.name === opSelect.value) || null;
  }

  function showKind() {
    const op = currentOperation();
    opKind.textContent = op ? `${op.kind}, ${op.variables.length} variable(s)` : "";
  }

  // Scroll the document to the picked operation's definition.
  function revealOperation() {
    const op = currentOperation();
    if (!op) return;
    const clean = stripCommentsAndStrings(docInput.value);
    const match = new RegExp(`(^|[\\s};])${op.kind}\\s+${op.name}\\b`).exec(clean);
    if (!match) return;
    const line = clean.slice(0, match.index + match[1].length).split("\n").length - 1;
    const lineHeight = parseFloat(getComputedStyle(docInput).lineHeight) || 18;
    docInput.scrollTop = Math.max(0, (line - 2) * lineHeight);
  }

  function fillVariables(force) {
    const op = currentOperation();
    if (!op) return;
    if (force) delete editedVariables[op.name];
    const edited = editedVariables[op.name];
    varsInput.value = edited !== undefined ? edited : JSON.stringify(variablesFor(op), null, 2);
    varsError.hidden = true;
  }

  function remember(data) {
    if (!data || typeof data !== "object") return;
    for (const value of Object.values(data)) {
      // Only top-level records (askOpenAi, currentRun, ...), not items of lists.
      if (!value || typeof value !== "object" || Array.isArray(value)) continue;
      const record = value.assistant && typeof value.assistant === "object" ? value.assistant : value;
      for (const key of ["assistantType", "assistantId", "threadId", "runId", "messageId"]) {
        if (typeof record[key] === "string" && record[key]) remembered[key] = record[key];
      }
      if (typeof record.currentRunId === "string" && record.currentRunId) {
        remembered.runId = record.currentRunId;
      }
    }
  }

  // ------------------------------------------------------------------ showing JSON
  function escapeHtml(text) {
    return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
  }

  function highlight(value) {
    const text = escapeHtml(JSON.stringify(value, null, 2));
    return text.replace(
      /("(?:\\u[0-9a-fA-F]{4}|\\[^u]|[^\\"])*"(\s*:)?|\b(?:true|false|null)\b|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/g,
      (token) => {
        let cls = "n";
        if (token.startsWith('"')) cls = token.trimEnd().endsWith(":") ? "k" : "s";
        else if (/true|false|null/.test(token)) cls = "b";
        return `<span class="${cls}">${token}</span>`;
      }
    );
  }

  function setStatus(state, text) {
    statusBadge.dataset.state = state;
    statusBadge.textContent = text;
  }

  // ------------------------------------------------------------------ running
  async function run() {
    let variables = {};
    const text = varsInput.value.trim();
    if (text) {
      try {
        variables = JSON.parse(text);
      } catch (error) {
        varsError.textContent = `Variables are not valid JSON: ${error.message}`;
        varsError.hidden = false;
        return;
      }
    }
    varsError.hidden = true;
    const payload = { query: docInput.value, variables };
    if (opSelect.value) payload.operationName = opSelect.value;

    runButton.disabled = true;
    setStatus("busy", "running…");
    const started = performance.now();
    try {
      const response = await fetch("/graphql", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify(payload),
      });
      const elapsed = Math.round(performance.now() - started);
      const body = await response.text();
      let shown;
      try {
        shown = JSON.parse(body);
        remember(shown.data);
      } catch (_error) {
        shown = body;
      }
      output.innerHTML = typeof shown === "string" ? escapeHtml(shown) : highlight(shown);
      const label = `${response.status} ${response.statusText || ""}`.trim();
      setStatus(response.ok ? "ok" : "error", `${label} · ${elapsed} ms`);
    } catch (error) {
      output.textContent = `The request failed: ${error.message}`;
      setStatus("error", "network error");
    } finally {
      runButton.disabled = false;
    }
  }

  // ------------------------------------------------------------------ start-up
  async function loadDocument() {
    const response = await fetch("/spec.graphql");
    docInput.value = await response.text();
    refreshOperations();
    fillVariables(true);
  }

  async function loadExamples() {
    try {
      const response = await fetch("/examples.json");
      if (response.ok) examples = await response.json();
    } catch (_error) {
      examples = {};
    }
  }

  async function checkHealth() {
    const badge = $("health");
    try {
      const response = await fetch("/healthz");
      badge.dataset.state = response.ok ? "ok" : "bad";
      badge.textContent = response.ok ? "server ok" : `server ${response.status}`;
    } catch (_error) {
      badge.dataset.state = "bad";
      badge.textContent = "server unreachable";
    }
  }

  let reparse = null;
  docInput.addEventListener("input", () => {
    clearTimeout(reparse);
    reparse = setTimeout(refreshOperations, 250);
  });
  opSelect.addEventListener("change", () => {
    showKind();
    fillVariables(false);
    revealOperation();
  });
  varsInput.addEventListener("input", () => {
    if (opSelect.value) editedVariables[opSelect.value] = varsInput.value;
  });
  for (const area of [docInput, varsInput]) {
    area.addEventListener("keydown", (event) => {
      if (event.key === "Tab" && !event.shiftKey) {
        event.preventDefault();
        area.setRangeText("  ", area.selectionStart, area.selectionEnd, "end");
      }
    });
  }
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  runButton.addEventListener("click", run);
  $("fill-variables").addEventListener("click", () => fillVariables(true));
  $("reset-document").addEventListener("click", () => {
    loadDocument().catch((error) => setStatus("error", error.message));
  });

  window.oae = { ready: null, run, remembered };
  window.oae.ready = loadExamples()
    .then(loadDocument)
    .then(checkHealth)
    .then(() => {
      document.body.dataset.ready = "true";
    })
    .catch((error) => {
      setStatus("error", `could not load the document: ${error.message}`);
    });
})();
