/* citesearch's page, for a key that may write to a collection: add files (a file input, or dropped
   on the page) with POST /v1/collections/{name}/documents, each with its upload's progress and then
   its status as the service publishes it (queued, indexing, indexed, or failed with the reason, from
   GET .../jobs/{id}); the collection's documents with their status, a page at a time (GET
   .../documents), and delete after a confirmation (DELETE .../documents/{doc_id}). The panel stays
   hidden for a key that may write nowhere (GET /v1/collections lists its permissions).
   Names and reasons come from whoever uploaded the file: they only ever go into text nodes. */
"use strict";
(() => {
  const app = window.citesearch;
  if (!app) return;
  const { api, h, explain, plural, sentence, storedKey, encodeId } = app;
  const PAGE_SIZE = 25;
  const POLL_MS = [400, 700, 1000, 1500, 2000]; // then every 2 s while a write is pending (longer when many are)
  const STATUS_WORDS = {
    queued: "Queued: stored, waiting to be indexed",
    indexing: "Indexing…",
    indexed: "Indexed: searchable",
    failed: "Failed",
  };

  const state = {
    writable: [], // the collections the key may write to
    target: null, // the collection the panel shows
    pages: [null], // the ``after`` cursor of each page shown so far (the last is on screen)
    next: null, // the next page's cursor
    listSeq: 0,
    queue: [], // files waiting for their upload (one is sent at a time)
    sending: false,
    pending: new Set(), // jobs not yet done, as "collection/job id"
  };

  const $ = (id) => document.getElementById(id);
  const documentsPath = (collection) => `/v1/collections/${encodeURIComponent(collection)}/documents`;

  function size(bytes) {
    if (typeof bytes !== "number") return "";
    if (bytes < 1024) return plural(bytes, "byte");
    const units = ["KB", "MB", "GB"];
    let value = bytes / 1024;
    let unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return `${value.toLocaleString("en", { maximumFractionDigits: 1 })} ${units[unit]}`;
  }

  function when(iso) {
    if (!iso) return "";
    const at = new Date(iso);
    return Number.isNaN(at.getTime()) ? iso : at.toLocaleString("en", { dateStyle: "medium", timeStyle: "short" });
  }

  /** A status in words, with a class for its colour; failed shows its reason plainly. */
  function statusNode(status, reason) {
    const words = status === "failed" ? `Failed: ${reason || "no reason given"}` : STATUS_WORDS[status] || status;
    return h("span", { class: `doc-status status-${status}`, "data-status": status, "data-testid": "doc-status", text: words });
  }

  function problemText(error) {
    if (error.status >= 400 && error.status < 500 && ![401, 429].includes(error.status) && error.message) {
      return sentence(error.message); // the service's own words: too large, unsupported type, ...
    }
    const [title, detail] = explain(error);
    return detail ? `${title} ${sentence(detail)}` : title;
  }

  // ---- which collections the key may write to ------------------------------------------------------

  function collectionsChanged(collections) {
    const writable = collections.filter((c) => Array.isArray(c.permissions) && c.permissions.includes("write"));
    const names = writable.map((c) => c.name);
    const same = names.join("\n") === state.writable.map((c) => c.name).join("\n");
    state.writable = writable;
    $("writes").hidden = writable.length === 0;
    if (!writable.length) {
      state.target = null;
      return;
    }
    const select = $("write-collection");
    if (!same) {
      select.replaceChildren(...writable.map((c) => h("option", { value: c.name }, c.description ? `${c.name}: ${c.description}` : c.name)));
    }
    $("write-target").hidden = writable.length < 2;
    const target = names.includes(state.target) ? state.target : (writable.find((c) => c.default) || writable[0]).name;
    select.value = target;
    if (target !== state.target) chooseTarget(target);
    else summarise();
  }

  function chooseTarget(name) {
    state.target = name;
    state.pages = [null];
    summarise();
    if ($("writes").open) loadDocuments();
  }

  function summarise() {
    const info = state.writable.find((c) => c.name === state.target);
    const count = info ? ` (${plural(info.documents, "document")} indexed)` : "";
    $("writes-summary").textContent = state.writable.length > 1 || (info && !info.default) ? `in ${state.target}${count}` : count.trim();
    $("doc-list-title").textContent = `Documents of ${state.target}`;
  }

  document.addEventListener("citesearch:collections", (event) => collectionsChanged(event.detail || []));
  collectionsChanged(app.collections());
  $("write-collection").addEventListener("change", () => chooseTarget($("write-collection").value));
  $("writes").addEventListener("toggle", () => {
    if ($("writes").open && state.target) loadDocuments();
  });

  // ---- the list of documents ---------------------------------------------------------------------

  async function loadDocuments() {
    const seq = ++state.listSeq;
    const collection = state.target;
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    const after = state.pages[state.pages.length - 1];
    if (after) query.set("after", after);
    if ($("doc-status").value) query.set("status", $("doc-status").value);
    $("doc-table").setAttribute("aria-busy", "true");
    let data;
    try {
      data = await (await api(`${documentsPath(collection)}?${query}`)).json();
    } catch (error) {
      if (seq !== state.listSeq) return;
      $("doc-table").setAttribute("aria-busy", "false");
      $("doc-list-message").textContent = problemText(error);
      if (error.status === 401) app.askForKey(loadDocuments, error.message);
      return;
    }
    if (seq !== state.listSeq) return;
    $("doc-table").setAttribute("aria-busy", "false");
    state.next = data.next_after;
    $("doc-rows").replaceChildren(...data.documents.map((doc) => documentRow(collection, doc)));
    const first = (state.pages.length - 1) * PAGE_SIZE + 1;
    const shown = data.documents.length;
    const filtered = $("doc-status").value ? ` ${$("doc-status").value}` : "";
    $("doc-list-message").textContent = shown
      ? `${shown === 1 && first === 1 && !data.next_after ? "One" : `${first.toLocaleString("en")}–${(first + shown - 1).toLocaleString("en")}`}${filtered} document${shown === 1 && first === 1 && !data.next_after ? "" : "s"}, by name${data.next_after ? "; more on the next page" : ""}.`
      : state.pages.length > 1 ? "No more documents." : `No${filtered} documents yet: add files above.`;
    $("doc-previous").hidden = state.pages.length < 2;
    $("doc-next").hidden = !data.next_after;
  }

  function documentRow(collection, doc) {
    const name = doc.status === "indexed"
      ? h("a", { href: `/collections/${encodeURIComponent(collection)}/documents/${encodeId(doc.doc_id)}`, text: doc.doc_id })
      : doc.doc_id;
    const remove = h("button", { type: "button", class: "secondary small", "data-doc-id": doc.doc_id, "aria-label": `Delete ${doc.doc_id}` }, "Delete");
    return h(
      "tr",
      { "data-testid": "document-row", "data-doc-id": doc.doc_id },
      h("td", { class: "doc-name", "data-testid": "doc-name" }, name),
      h("td", {}, statusNode(doc.status, doc.reason)),
      h("td", { class: "number", text: size(doc.bytes) }),
      h("td", { class: "when", text: when(doc.updated_at) }),
      h("td", {}, remove),
    );
  }

  $("doc-status").addEventListener("change", () => {
    state.pages = [null];
    loadDocuments();
  });
  $("doc-refresh").addEventListener("click", loadDocuments);
  $("doc-next").addEventListener("click", () => {
    if (!state.next) return;
    state.pages.push(state.next);
    loadDocuments().then(() => $("doc-table").focus());
  });
  $("doc-previous").addEventListener("click", () => {
    if (state.pages.length > 1) state.pages.pop();
    loadDocuments().then(() => $("doc-table").focus());
  });

  // ---- following a write until it is published ----------------------------------------------------

  /** Polls the job until it is indexed or failed; ``show(job)`` at each change. Resolves with the last job. */
  async function follow(collection, job, show) {
    const key = `${collection}/${job.id}`;
    state.pending.add(key);
    let last = job;
    try {
      let wait = 0;
      for (let round = 0; last.status === "queued" || last.status === "indexing"; round += 1) {
        // many files at once: each job is asked less often, so the page stays within the rate limit
        const spread = Math.max(1, state.pending.size / 2);
        await new Promise((resolve) => setTimeout(resolve, Math.max(wait, POLL_MS[Math.min(round, POLL_MS.length - 1)] * spread)));
        wait = 0;
        try {
          last = await (await api(`/v1/collections/${encodeURIComponent(collection)}/jobs/${encodeURIComponent(job.id)}`)).json();
        } catch (error) {
          if (error.status === 429) wait = 1000 * (error.retryAfter || 1);
          if (error.status === 0 || error.status === 429 || error.status >= 500) continue; // try again
          throw error;
        }
        show(last);
      }
    } finally {
      state.pending.delete(key);
    }
    return last;
  }

  /** After a write is published: the counts, the formats and the list show it (once for writes
      published together). */
  let refreshing = null;
  function published() {
    clearTimeout(refreshing);
    refreshing = setTimeout(() => {
      app.refresh();
      listSoon();
    }, 200);
  }

  /** The list again shortly (once for files sent one after another). */
  let listing = null;
  function listSoon() {
    clearTimeout(listing);
    listing = setTimeout(() => {
      if ($("writes").open && state.target) loadDocuments();
    }, 200);
  }

  // ---- adding files ---------------------------------------------------------------------------------

  function uploadItem(collection, file) {
    const progress = h("progress", { max: "100", value: "0", "aria-label": `Upload of ${file.name}` });
    const status = h("span", { class: "upload-status", "data-testid": "upload-status", text: "Waiting to upload…" });
    const item = h(
      "li",
      { class: "upload", "data-testid": "upload" },
      h("span", { class: "doc-name upload-name", "data-testid": "upload-name", text: file.name }),
      h("span", { class: "hint", text: `${size(file.size)}, to ${collection}` }),
      progress,
      status,
    );
    $("uploads").prepend(item);
    return { item, progress, status };
  }

  function setUploadStatus(view, status, reason, words) {
    view.status.replaceChildren(words ? h("span", { class: `doc-status status-${status}`, "data-status": status, text: words }) : statusNode(status, reason));
    view.item.dataset.status = status;
  }

  function showJob(view, job) {
    if (job.status === "indexed" && job.unchanged) setUploadStatus(view, "indexed", null, "Unchanged: this file is indexed already");
    else setUploadStatus(view, job.status, job.reason);
  }

  /** POST the file as multipart with XMLHttpRequest (fetch reports no upload progress). */
  function send(collection, file, view) {
    return new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("POST", documentsPath(collection));
      const key = storedKey();
      if (key) request.setRequestHeader("Authorization", `Bearer ${key}`);
      request.responseType = "json";
      request.upload.addEventListener("progress", (event) => {
        if (!event.lengthComputable) return;
        const percent = Math.floor((100 * event.loaded) / event.total);
        view.progress.value = percent;
        view.status.textContent = `Uploading: ${percent}%`;
      });
      request.addEventListener("load", () => {
        const body = request.response;
        if (request.status >= 200 && request.status < 300 && body && body.job) resolve(body);
        else {
          const detail = body && typeof body.detail === "string" ? body.detail : request.statusText;
          const retry = Number.parseInt(request.getResponseHeader("Retry-After") || "", 10);
          reject(Object.assign(new Error(detail), { status: request.status, retryAfter: Number.isFinite(retry) ? retry : null }));
        }
      });
      request.addEventListener("error", () => reject(Object.assign(new Error(""), { status: 0 })));
      request.addEventListener("abort", () => reject(Object.assign(new Error("the upload was stopped"), { status: 0 })));
      const form = new FormData();
      form.append("file", file, file.name);
      request.send(form);
    });
  }

  async function uploadOne(collection, file, view) {
    view.status.textContent = "Uploading: 0%";
    let body;
    try {
      body = await send(collection, file, view);
    } catch (error) {
      view.progress.hidden = true;
      setUploadStatus(view, "failed", null, `Not uploaded: ${problemText(error)}`);
      if (error.status === 401) app.askForKey(() => addFiles([file]), error.message);
      return;
    }
    view.progress.value = 100;
    view.progress.hidden = true;
    showJob(view, body.job);
    listSoon();
    follow(collection, body.job, (job) => showJob(view, job))
      .then(published)
      .catch((error) => setUploadStatus(view, "failed", null, `Its status is unknown: ${problemText(error)}`));
  }

  async function drain() {
    if (state.sending) return;
    state.sending = true;
    try {
      while (state.queue.length) {
        const { collection, file, view } = state.queue.shift();
        await uploadOne(collection, file, view);
      }
    } finally {
      state.sending = false;
    }
  }

  function addFiles(files) {
    const collection = state.target;
    if (!collection || !files.length) return;
    for (const file of files) state.queue.push({ collection, file, view: uploadItem(collection, file) });
    drain();
  }

  $("upload-input").addEventListener("change", () => {
    addFiles([...$("upload-input").files]);
    $("upload-input").value = "";
  });

  const carriesFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes("Files");
  const zone = $("drop-zone");
  zone.addEventListener("dragenter", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragover", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", (event) => {
    if (!zone.contains(event.relatedTarget)) zone.classList.remove("dragging");
  });
  zone.addEventListener("drop", (event) => {
    if (!carriesFiles(event)) return;
    event.preventDefault();
    zone.classList.remove("dragging");
    addFiles([...event.dataTransfer.files]);
  });
  // A file dropped beside the zone must not replace the page (the browser would open it).
  for (const type of ["dragover", "drop"]) {
    document.addEventListener(type, (event) => {
      if (!$("writes").hidden && carriesFiles(event) && !zone.contains(event.target)) event.preventDefault();
    });
  }

  // ---- deleting a document ------------------------------------------------------------------------

  let deleting = null; // {collection, docId, button}

  $("doc-rows").addEventListener("click", (event) => {
    const button = event.target.closest("button[data-doc-id]");
    if (!button) return;
    deleting = { collection: state.target, docId: button.dataset.docId, button };
    $("delete-name").textContent = deleting.docId;
    $("delete-collection").textContent = deleting.collection;
    $("delete-dialog").showModal();
    $("delete-cancel").focus();
  });

  $("delete-dialog").addEventListener("close", () => {
    const chosen = deleting;
    deleting = null;
    if (!chosen) return;
    if ($("delete-dialog").returnValue === "delete") remove(chosen);
    else chosen.button.focus();
  });

  async function remove({ collection, docId, button }) {
    const row = button.closest("tr");
    const cell = row.children[1];
    button.disabled = true;
    cell.replaceChildren(h("span", { class: "doc-status status-indexing", "data-status": "deleting", text: "Deleting…" }));
    let body;
    try {
      body = await (await api(`${documentsPath(collection)}/${encodeId(docId)}`, { method: "DELETE" })).json();
    } catch (error) {
      button.disabled = false;
      cell.replaceChildren(h("span", { class: "doc-status status-failed", "data-status": "failed", text: `Not deleted: ${problemText(error)}` }));
      button.focus();
      return;
    }
    let said;
    try {
      const job = await follow(collection, body.job, () => {});
      said = job.status === "failed" ? `${docId} was not deleted: ${job.reason || "no reason given"}` : `${docId} was deleted.`;
    } catch (error) {
      said = `Whether ${docId} was deleted is unknown: ${problemText(error)}`;
    }
    app.refresh();
    if (collection === state.target) await loadDocuments();
    $("doc-action").textContent = said;
    $("doc-table").focus();
  }
})();
