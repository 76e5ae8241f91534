/* citesearch's search page: asks POST /v1/search, lists the passages with their citations, and opens
   a document (GET /v1/documents/{doc_id}, or /v1/collections/{name}/documents/{doc_id}) with the cited
   passage in a <mark>, scrolled into view; a picker of collections when the key may search several.
   Plain JavaScript without dependencies. Text from the service only ever goes into text nodes
   (textContent, append of strings), never into HTML. */
"use strict";
(() => {
  const KEY_STORAGE = "citesearch.apiKey";
  const LONG_DOCUMENT = 100000; // longer documents show a window of text around the cited passage
  const CONTEXT = 20000; // characters shown on each side of the passage in a long document
  const STEP = 50000; // characters added by "Show earlier/later text"
  const READY_POLL_MS = 3000;
  const PARAMS = ["q", "mode", "k", "min", "format", "from", "to", "field", "op", "value", "c"];
  const COLLECTION_PAGE = /^\/collections\/([a-z0-9][a-z0-9_-]{0,63})\/documents\/(.+)$/;
  const FORMAT_NAMES = { text: "Text", markdown: "Markdown", pdf: "PDF", html: "HTML", docx: "Word" };
  const OPERATORS = {
    string: [["eq", "is"], ["ne", "is not"]],
    list: [["eq", "contains"], ["ne", "does not contain"]],
    number: [["eq", "is"], ["ne", "is not"], ["gte", "at least"], ["lte", "at most"], ["gt", "more than"], ["lt", "less than"]],
    date: [["eq", "is"], ["gte", "on or after"], ["lte", "on or before"], ["gt", "after"], ["lt", "before"]],
    boolean: [["eq", "is"], ["ne", "is not"]],
  };
  const PLACEHOLDERS = { string: "text", number: "a number", date: "YYYY-MM-DD", boolean: "true or false" };
  const STOPWORDS = new Set(
    ("a about an and are as at be been but by can could did do does for from had has have how i if in " +
      "into is it its of on or so than that the their them then there these they this those to was we " +
      "were what when where which who whom why will with would you your").split(" "),
  );

  const state = {
    ready: false,
    polling: false, // checking /ready again soon
    info: null, // GET /v1/index
    collections: [], // GET /v1/collections: the collections the key may see, the default first
    listed: 0, // how many collections /ready lists for the key (the picker is fetched only for two or more)
    pending: null, // what to retry once an API key is given
    searchOpen: false, // GET /v1/index answered without a key: the header offers "Use an API key"
    shown: null, // the search on screen: {url, data}
    searchSeq: 0,
    docSeq: 0,
    doc: null, // the document on screen and the window of its text that is rendered
  };
  const defaults = { mode: "hybrid", k: "5", min: "0.2" };

  const $ = (id) => document.getElementById(id);

  /** An element with attributes and children; strings become text nodes. */
  function h(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "class") node.className = value;
      else if (name === "text") node.textContent = String(value);
      else node.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children) if (child !== null && child !== undefined && child !== "") node.append(child);
    return node;
  }

  const NOTICE = "This page notices when one is published.";
  const sentence = (text) => `${text.charAt(0).toUpperCase()}${text.slice(1)}${/[.!?]$/.test(text) ? "" : "."}`;
  const plural = (n, word) => `${n.toLocaleString("en")} ${word}${n === 1 ? "" : "s"}`;
  const range = (a, b) => (a === b ? `${a}` : `${a}–${b}`);

  // ---- talking to the service -------------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, detail, retryAfter) {
      super(detail);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }
  class InputError extends Error {}

  function storedKey() {
    try {
      return sessionStorage.getItem(KEY_STORAGE);
    } catch {
      return null;
    }
  }

  /** fetch with the API key (if one was given); non-2xx answers become an ApiError. */
  async function api(path, options = {}) {
    const headers = new Headers(options.headers || {});
    const key = storedKey();
    if (key) headers.set("Authorization", `Bearer ${key}`);
    let response;
    try {
      response = await fetch(path, { ...options, headers });
    } catch {
      throw new ApiError(0, "");
    }
    if (response.ok) return response;
    let detail = "";
    try {
      const body = await response.json();
      if (body && typeof body.detail === "string") detail = body.detail;
    } catch {
      detail = response.statusText || "";
    }
    const retry = Number.parseInt(response.headers.get("Retry-After") || "", 10);
    throw new ApiError(response.status, detail, Number.isFinite(retry) ? retry : null);
  }

  /** A heading and an explanation, in words, for a failed request. */
  function explain(error) {
    const detail = error.message;
    switch (error.status) {
      case 0:
        return ["The service did not answer.", "Check that it is still running (python -m service), then try again."];
      case 401:
        return ["An API key is needed.", detail];
      case 404:
        return ["Not found.", detail];
      case 413:
      case 422:
        return ["The service could not run this request.", detail];
      case 429:
        return [
          "Too many requests.",
          `The service limits how often one client may ask. Try again in ${plural(error.retryAfter || 1, "second")}.`,
        ];
      case 503:
        return ["No index is served yet.", `${sentence(detail || "build one with python -m indexer build")} ${NOTICE}`];
      default:
        return [
          error.status >= 500 ? `The service failed (error ${error.status}).` : `The request was refused (${error.status}).`,
          detail,
        ];
    }
  }

  function showProblem(target, error) {
    const [title, detail] = explain(error);
    target.className = "message error";
    target.replaceChildren(h("div", { role: "alert" }, h("p", {}, h("strong", { text: title })), detail ? h("p", { text: detail }) : null));
  }

  function showMessage(target, ...lines) {
    target.className = "message";
    target.replaceChildren(...lines.map((line) => (typeof line === "string" ? h("p", { text: line }) : line)));
  }

  // ---- API key ----------------------------------------------------------------------------------

  /** The key dialog: ``retry`` runs once a key is given. Without a ``problem``, the person asked for it
      (Use an API key): searching works without one, a key may let them add documents. */
  function askForKey(retry, problem) {
    state.pending = retry;
    const dialog = $("key-dialog");
    const chosen = !problem;
    $("key-title").textContent = chosen ? "Use an API key" : "An API key is needed";
    $("key-why").textContent = chosen
      ? "Searching here needs no key. A key that may write lets you add and manage documents."
      : "This service only answers searches sent with an API key.";
    $("key-error").textContent = storedKey() && !chosen ? `That key was not accepted: ${problem}` : "";
    $("key-input").value = "";
    if (!dialog.open) dialog.showModal();
    $("key-input").focus();
  }

  function keyChanged() {
    $("forget-key").hidden = !storedKey();
    $("use-key").hidden = Boolean(storedKey()) || !state.searchOpen;
  }

  /** After a key the person chose to give: say so when it may add documents nowhere (a service that
      searches without a key answers a key it does not know as if none were given). */
  async function keyChosen() {
    await loadCollections();
    if (!state.collections.some((collection) => (collection.permissions || []).includes("write"))) {
      setStatus("This key may not add documents here (or it is not a key of this service); searching works as before.", true);
    }
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) {
      $("key-error").textContent = "Type the key, or choose Cancel.";
      return;
    }
    sessionStorage.setItem(KEY_STORAGE, key);
    keyChanged();
    $("key-dialog").close("save");
    const retry = state.pending;
    state.pending = null;
    if (retry) retry();
    if (retry === keyChosen) return;
    if (retry !== start && state.ready) loadCollections(); // what this key may do (writes.js)
  });
  $("key-cancel").addEventListener("click", () => $("key-dialog").close("cancel"));
  $("key-dialog").addEventListener("close", () => {
    if ($("key-dialog").returnValue !== "save") state.pending = null;
  });
  $("use-key").addEventListener("click", () => askForKey(keyChosen, ""));
  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    keyChanged();
    state.collections = state.collections.map((collection) => ({ ...collection, permissions: [] }));
    announceCollections();
    setStatus("The API key was removed from this tab.");
    $("query").focus();
  });

  // ---- readiness and what the index holds ---------------------------------------------------------

  function setStatus(text, warn = false) {
    const status = $("status");
    status.textContent = text;
    status.classList.toggle("warn", warn);
  }

  /** True when /ready says a snapshot is served; otherwise says why and checks again every few seconds. */
  async function checkReady() {
    let problem;
    try {
      const key = storedKey(); // /ready lists the collections this key may search
      const response = await fetch("/ready", { cache: "no-store", headers: key ? { Authorization: `Bearer ${key}` } : {} });
      if (response.ok) {
        const body = await response.json().catch(() => null);
        state.listed = body && Array.isArray(body.collections) ? body.collections.length : 0;
        if (!state.ready) setStatus("");
        state.ready = true;
        return true;
      }
      const body = await response.json().catch(() => null);
      const detail = (body && body.detail) || "build one with python -m indexer build";
      problem = `No index is served yet: ${detail}. ${NOTICE}`;
    } catch {
      problem = "The service does not answer: is python -m service running? This page tries again every few seconds.";
    }
    state.ready = false;
    setStatus(problem, true);
    if (!state.polling) {
      state.polling = true;
      setTimeout(async () => {
        state.polling = false;
        if ((await checkReady()) && (await loadInfo()) && !state.shown && location.pathname === "/") route();
      }, READY_POLL_MS);
    }
    return false;
  }

  /** GET /v1/index: the formats, metadata fields and search defaults the controls offer. */
  async function loadInfo() {
    try {
      const info = await (await api("/v1/index")).json();
      if (!storedKey()) state.searchOpen = true;
      keyChanged();
      applyInfo(info);
      await loadCollections();
      return true;
    } catch (error) {
      if (error.status === 401) askForKey(start, error.message);
      else if (error.status === 503) checkReady();
      else setStatus(explain(error).join(" "), true);
      return false;
    }
  }

  /** GET /v1/collections: a picker when the key sees more than one collection (else nothing shows); the
      header and the formats then describe every collection the key may search. A key that sees one
      collection, not the default, searches the one GET /v1/index described, by name. With a key, also
      what it may do in each (writes.js offers uploads where it may write). */
  async function loadCollections() {
    let listed = [];
    const info = state.info || {};
    const named = Array.isArray(info.collections) ? info.collections : [];
    try {
      if (state.listed > 1 || named.length > 1 || storedKey()) listed = (await (await api("/v1/collections")).json()).collections || [];
      else if (named.length === 1 && info.default === false) {
        listed = [{ name: info.collection, description: "", default: false, documents: info.documents, chunks: info.chunks, formats: info.formats }];
      }
    } catch {
      listed = []; // the search still runs on the default collection
    }
    state.collections = listed;
    showHoldings();
    announceCollections();
    const chosen = chosenCollections();
    $("collection-list").replaceChildren(
      ...listed.map((collection) =>
        h(
          "label",
          { "data-testid": "collection" },
          h("input", { type: "checkbox", name: "collection", value: collection.name }),
          h("span", { class: "collection-name", text: collection.name }),
          collection.description ? h("span", { class: "hint", text: collection.description }) : null,
        ),
      ),
    );
    $("collections").hidden = listed.length < 2;
    checkCollections(chosen.length ? chosen : defaultCollections());
  }

  /** What is searched unless the address says otherwise: the default collection (when the key sees
      several, or sees one that is not the default, it is named in the request). */
  function defaultCollections() {
    const list = state.collections;
    if (!list.length) return [];
    const first = list.find((collection) => collection.default) || list[0];
    return list.length === 1 && first.default ? [] : [first.name];
  }

  /** Tells writes.js (event ``citesearch:collections``) which collections the key sees, with its permissions. */
  function announceCollections() {
    document.dispatchEvent(new CustomEvent("citesearch:collections", { detail: state.collections }));
    const writer = state.collections.some((c) => Array.isArray(c.permissions) && c.permissions.includes("write"));
    const script = document.querySelector('meta[name="citesearch-writes"]');
    if (writer && script && !document.querySelector("script[data-writes]")) {
      // Loaded only for a key that may write: readers never download it (it reads the collections itself).
      document.head.append(h("script", { src: script.content, "data-writes": "" }));
    }
  }

  const collectionBoxes = () => [...$("collection-list").querySelectorAll("input[type=checkbox]")];
  const chosenCollections = () => collectionBoxes().filter((box) => box.checked).map((box) => box.value);

  function checkCollections(names) {
    for (const box of collectionBoxes()) box.checked = names.includes(box.value);
  }

  function applyInfo(info) {
    state.info = info;
    setStatus(`${plural(info.documents, "document")}, ${plural(info.chunks, "passage")} indexed`);
    defaults.mode = info.search.mode;
    defaults.min = String(info.search.min_score);
    $("query").maxLength = info.search.max_query_chars;
    showFormats(info.formats);
    const fields = info.fields.filter((field) => field.scope === "metadata");
    const key = $("field-key");
    const chosenKey = key.value;
    key.replaceChildren(
      h("option", { value: "" }, "Any field"),
      ...fields.map((field) => h("option", { value: field.key }, `${field.key} (${plural(field.documents, "document")})`)),
    );
    key.value = chosenKey;
    $("field-filter").hidden = fields.length === 0;
    fieldChanged();
  }

  function showFormats(formats) {
    const format = $("format");
    const chosen = format.value;
    format.replaceChildren(
      h("option", { value: "" }, "Any format"),
      ...Object.entries(formats).map(([name, count]) => h("option", { value: name }, `${FORMAT_NAMES[name] || name} (${count})`)),
    );
    format.value = chosen;
  }

  /** The header and the formats: of every collection the key may search when it sees several (GET
      /v1/collections), else of the one GET /v1/index described (named when it is not the default). */
  function showHoldings() {
    const list = state.collections;
    if (list.length > 1) {
      const documents = list.reduce((sum, collection) => sum + collection.documents, 0);
      const chunks = list.reduce((sum, collection) => sum + collection.chunks, 0);
      setStatus(`${plural(documents, "document")}, ${plural(chunks, "passage")} indexed in ${list.length} collections`);
      const formats = {};
      for (const collection of list) {
        for (const [name, count] of Object.entries(collection.formats || {})) formats[name] = (formats[name] || 0) + count;
      }
      showFormats(Object.fromEntries(Object.entries(formats).sort()));
    } else if (list.length === 1 && !list[0].default && state.info) {
      setStatus(`${plural(state.info.documents, "document")}, ${plural(state.info.chunks, "passage")} indexed in ${list[0].name}`);
    }
  }

  function fieldInfo(key) {
    return state.info ? state.info.fields.find((field) => field.key === key) : undefined;
  }

  function fieldChanged() {
    const field = fieldInfo($("field-key").value);
    const kind = field ? (field.multiple && field.type === "string" ? "list" : field.type) : "string";
    const op = $("field-op");
    const chosen = op.value;
    op.replaceChildren(...OPERATORS[kind].map(([value, label]) => h("option", { value }, label)));
    if ([...op.options].some((option) => option.value === chosen)) op.value = chosen;
    $("field-value").placeholder = PLACEHOLDERS[field ? field.type : "string"];
    $("field-op").disabled = $("field-value").disabled = !field;
  }
  $("field-key").addEventListener("change", fieldChanged);

  // ---- the search form and its address ------------------------------------------------------------

  const controls = {
    q: "query", mode: "mode", k: "top-k", min: "min-score", format: "format",
    from: "date-from", to: "date-to", field: "field-key", op: "field-op", value: "field-value",
  };

  function formParams() {
    const params = {};
    for (const name of PARAMS) if (name !== "c") params[name] = $(controls[name]).value.trim();
    const chosen = chosenCollections().join(",");
    params.c = chosen === defaultCollections().join(",") ? "" : chosen;
    return params;
  }

  /** The controls as ``params`` (from the address) say. The first time, a control the person already
      changed while the page was starting keeps their value unless the address gives one. */
  function fillForm(params) {
    const first = !state.formFilled;
    state.formFilled = true;
    checkCollections(params.c ? params.c.split(",") : defaultCollections());
    for (const name of PARAMS) {
      if (name === "c") continue;
      if (first && params[name] === undefined && $(controls[name]).dataset.touched) continue;
      const value = params[name] !== undefined ? params[name] : defaults[name] || "";
      $(controls[name]).value = value;
      if (name === "field") fieldChanged();
    }
    countFilters();
  }

  function searchUrl(params) {
    const query = new URLSearchParams();
    for (const name of PARAMS) if (params[name]) query.set(name, params[name]);
    if (!params.field || !params.value) ["field", "op", "value"].forEach((name) => query.delete(name));
    return `/?${query}`;
  }

  function nextDay(isoDate) {
    const day = new Date(`${isoDate}T00:00:00Z`);
    if (Number.isNaN(day.getTime())) throw new InputError(`${isoDate} is not a date (YYYY-MM-DD).`);
    day.setUTCDate(day.getUTCDate() + 1);
    return day.toISOString().slice(0, 10);
  }

  function fieldValue(field, text) {
    if (field.type === "number") {
      const number = Number(text);
      if (text === "" || !Number.isFinite(number)) throw new InputError(`${field.key} takes a number; “${text}” is not one.`);
      return number;
    }
    if (field.type === "boolean") {
      if (/^(true|yes|1)$/i.test(text)) return true;
      if (/^(false|no|0)$/i.test(text)) return false;
      throw new InputError(`${field.key} is true or false; “${text}” is neither.`);
    }
    return text;
  }

  /** The body of POST /v1/search for the form's values (InputError for values the page can refuse). */
  function requestBody(params) {
    const body = { query: params.q, top_k: Number.parseInt(params.k, 10) || 5 };
    const collections = params.c ? params.c.split(",") : defaultCollections();
    if (collections.length) body.collections = collections;
    if (params.mode) body.mode = params.mode;
    if (params.min) {
      const min = Number(params.min);
      if (!(min >= 0 && min <= 1)) throw new InputError("The minimum score is a number from 0 to 1.");
      if (min > 0) body.min_score = min;
    }
    const filters = [];
    if (params.format) filters.push({ type: "eq", key: "format", value: params.format });
    if (params.from) filters.push({ type: "gte", key: "date", value: params.from });
    if (params.to) filters.push({ type: "lt", key: "date", value: nextDay(params.to) });
    const field = fieldInfo(params.field);
    if (params.field && params.value !== "") {
      if (!field) throw new InputError(`This index has no metadata field ${params.field}.`);
      filters.push({ type: params.op || "eq", key: field.key, value: fieldValue(field, params.value) });
    }
    if (filters.length === 1) body.filters = filters[0];
    else if (filters.length > 1) body.filters = { type: "and", filters };
    return body;
  }

  function countFilters() {
    const params = formParams();
    const count = ["format", "from", "to"].filter((name) => params[name]).length + (params.field && params.value ? 1 : 0);
    $("filter-count").textContent = count ? `(${count} on)` : "";
  }
  $("filters").addEventListener("change", countFilters);
  $("filters").addEventListener("input", countFilters);

  for (const kind of ["input", "change"]) {
    $("search-form").addEventListener(kind, (event) => {
      if (!state.formFilled && event.target.dataset) event.target.dataset.touched = "1";
    });
  }

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const params = formParams();
    if (!$("collections").hidden && !chosenCollections().length) {
      showMessage($("message"), "Choose at least one collection to search.");
      collectionBoxes()[0].focus();
      return;
    }
    if (!params.q) {
      showMessage($("message"), "Type a question first.");
      $("query").focus();
      return;
    }
    const url = searchUrl(params);
    if (url !== location.pathname + location.search) history.pushState({ view: "search" }, "", url);
    runSearch(params);
  });

  // ---- results --------------------------------------------------------------------------------------

  function stem(word) {
    for (const suffix of ["ing", "ed", "es", "s"]) {
      if (word.length - suffix.length >= 4 && word.endsWith(suffix)) return word.slice(0, -suffix.length);
    }
    return word;
  }

  /** The query's words worth emphasising (no stop words), longest first. */
  function queryTerms(query) {
    const terms = new Set();
    for (const word of query.toLowerCase().match(/[\p{L}\p{N}]+/gu) || []) {
      if (STOPWORDS.has(word) || (word.length < 3 && !/\p{N}/u.test(word))) continue;
      terms.add(stem(word));
    }
    return [...terms].slice(0, 32).sort((a, b) => b.length - a.length);
  }

  /** ``text`` with the service's ``highlights`` ([start, end] of the words matching the query, as the
      keyword index stems them) in <strong>, as DOM nodes; without them, the words starting with a term. */
  function emphasise(text, terms, highlights) {
    const fragment = document.createDocumentFragment();
    if (Array.isArray(highlights)) {
      let at = 0;
      for (const [start, end] of highlights) {
        if (!(start >= at && end > start && end <= text.length)) continue;
        fragment.append(text.slice(at, start), h("strong", { text: text.slice(start, end) }));
        at = end;
      }
      fragment.append(text.slice(at));
      return fragment;
    }
    if (!terms.length) {
      fragment.append(text);
      return fragment;
    }
    const pattern = new RegExp(`(?<![\\p{L}\\p{N}])(?:${terms.join("|")})[\\p{L}\\p{N}]*`, "giu");
    let at = 0;
    for (const match of text.matchAll(pattern)) {
      fragment.append(text.slice(at, match.index), h("strong", { text: match[0] }));
      at = match.index + match[0].length;
    }
    fragment.append(text.slice(at));
    return fragment;
  }

  const encodeId = (docId) => docId.split("/").map(encodeURIComponent).join("/");
  /** The page's address of a citation's document: the citation's own url (``/v1/…``) without ``/v1``. */
  function documentHref(citation) {
    if (typeof citation.url === "string") {
      const url = new URL(citation.url, location.origin);
      if (url.pathname.startsWith("/v1/")) return url.pathname.slice(3) + url.search;
    }
    return `/documents/${encodeId(citation.doc_id)}?start=${citation.char_start}&end=${citation.char_end}`;
  }

  /** The collection a result came from, when the search ran over more than one (null otherwise). */
  function collectionOf(citation, body) {
    const searched = body.collections || [];
    if (!(searched.length > 1 || searched.includes("*"))) return null;
    if (citation.collection) return citation.collection;
    const main = state.collections.find((collection) => collection.default);
    return main ? main.name : "default";
  }

  /** Formats whose indexed text is extracted from the file: their lines and characters count that
   * text (GET /v1/documents), not the file on disk. Text and Markdown files are indexed as they are. */
  const EXTRACTED = new Set(["pdf", "html", "docx"]);
  const ofText = (format) => (EXTRACTED.has(format) ? " of the extracted text" : "");

  function place(citation) {
    if (citation.page_start !== null && citation.page_start !== undefined) {
      const pages = range(citation.page_start, citation.page_end ?? citation.page_start);
      return `${citation.page_start === citation.page_end ? "page" : "pages"} ${pages}`;
    }
    const lines = range(citation.line_start, citation.line_end);
    return `${citation.line_start === citation.line_end ? "line" : "lines"} ${lines}${ofText(citation.format)}`;
  }

  function resultItem(result, terms, body) {
    const citation = result.citation;
    const collection = collectionOf(citation, body);
    const meta = [citation.date, FORMAT_NAMES[citation.format] || citation.format];
    if (citation.page_start !== null && citation.page_start !== undefined) meta.push(place(citation));
    if (citation.section) meta.push(`§ ${citation.section}`);
    return h(
      "li",
      { class: "result", "data-testid": "result" },
      h(
        "div",
        { class: "result-head" },
        h("span", { class: "rank" }, h("span", { class: "visually-hidden", text: "Rank " }), String(result.rank)),
        h("h2", { class: "result-title", text: citation.title || citation.doc_id }),
        h("span", { class: "score", title: "Calibrated relevance, 0 to 1", "data-testid": "score" }, `score ${result.score.toFixed(2)}`),
      ),
      h(
        "p",
        { class: "meta" },
        collection ? h("span", { class: "collection-tag", "data-testid": "result-collection", text: collection }) : null,
        collection ? " · " : null,
        meta.filter(Boolean).join(" · "),
      ),
      h("p", { class: "passage", "data-testid": "passage" }, emphasise(result.text, terms, result.highlights)),
      h(
        "a",
        { class: "citation", "data-testid": "citation", href: documentHref(citation), "data-rank": result.rank },
        `Show in ${citation.source}, ${place(citation)}`,
      ),
      pageView(citation),
    );
  }

  // ---- a PDF passage on its page ----------------------------------------------------------------------

  const PAGE_WIDTH = 900; // pixels asked of GET …/documents/{doc_id}/pages/{n}; shown scaled to fit

  /** The image of a page of a citation's document: its url's path (/v1/documents/… for the default
      collection, /v1/collections/{name}/documents/… for the others) and /pages/{n}. */
  function pageAddress(citation, page) {
    const path = typeof citation.url === "string" ? new URL(citation.url, location.origin).pathname : `/v1/documents/${encodeId(citation.doc_id)}`;
    return `${path}/pages/${page}?width=${PAGE_WIDTH}`;
  }

  function printedPage(citation, page) {
    const label = page === citation.page_start ? citation.page_label_start : page === citation.page_end ? citation.page_label_end : null;
    return label && label !== String(page) ? `page ${page} (printed “${label}”)` : `page ${page}`;
  }

  /** For a PDF citation with boxes, a folded "On the page" view: each page the passage is on, as an image
      (loaded when unfolded) with the passage's rectangles drawn over it. */
  function pageView(citation) {
    const boxes = Array.isArray(citation.boxes) ? citation.boxes : [];
    if (!boxes.length) return null;
    const pages = [...new Set(boxes.map((box) => box.page))];
    const view = h(
      "details",
      { class: "page-view", "data-testid": "page-view" },
      h("summary", { text: `See it on ${pages.map((page) => printedPage(citation, page)).join(", ")}` }),
    );
    let loaded = false;
    view.addEventListener("toggle", () => {
      if (!view.open || loaded) return;
      loaded = true;
      for (const page of pages) view.append(pageFigure(citation, page, boxes.filter((box) => box.page === page)));
    });
    return view;
  }

  function pageFigure(citation, page, boxes) {
    const sheet = h("div", { class: "page-sheet" });
    const figure = h("figure", { class: "page-figure" }, sheet, h("figcaption", { text: `${citation.title || citation.doc_id}, ${printedPage(citation, page)}` }));
    const image = h("img", { class: "page-image", alt: `${printedPage(citation, page)} of ${citation.title || citation.doc_id}, the cited passage outlined`, "data-testid": "page-image" });
    sheet.append(image);
    for (const box of boxes) {
      const mark = h("div", { class: "page-box", "data-testid": "page-box" });
      mark.style.left = `${box.x0 * 100}%`;
      mark.style.top = `${box.y0 * 100}%`;
      mark.style.width = `${(box.x1 - box.x0) * 100}%`;
      mark.style.height = `${(box.y1 - box.y0) * 100}%`;
      sheet.append(mark);
    }
    api(pageAddress(citation, page))
      .then((response) => response.blob())
      .then((blob) => {
        image.src = URL.createObjectURL(blob);
        image.addEventListener(
          "load",
          () => {
            sheet.classList.add("loaded");
            URL.revokeObjectURL(image.src);
          },
          { once: true },
        );
      })
      .catch((error) => {
        sheet.replaceChildren();
        showProblem(sheet, error);
      });
    return figure;
  }

  function renderResults(data, params, body) {
    $("results").setAttribute("aria-busy", "false");
    if (!data.results.length) {
      const hints = [];
      if (body.min_score) hints.push(`No passage scored ${body.min_score} or more (the minimum score under Filters); lower it to see weaker matches.`);
      if (body.filters) hints.push("The filters may leave out the passages that would answer it.");
      if (!hints.length) hints.push("Try other words or another mode.");
      showMessage($("message"), h("p", {}, h("strong", { text: `Nothing relevant found for “${params.q}”.` })), ...hints);
      $("message").classList.add("empty");
      $("results").replaceChildren();
      return;
    }
    const terms = queryTerms(params.q);
    const fewer = body.min_score && data.results.length < body.top_k ? `; the others scored below ${body.min_score}` : "";
    showMessage($("message"), `${plural(data.results.length, "passage")}, best first${fewer} (${Math.round(data.took_ms)} ms)`);
    $("results").replaceChildren(...data.results.map((result) => resultItem(result, terms, body)));
  }

  async function runSearch(params) {
    let body;
    try {
      body = requestBody(params);
    } catch (error) {
      if (!(error instanceof InputError)) throw error;
      showProblem($("message"), new ApiError(422, error.message, null));
      return;
    }
    const seq = ++state.searchSeq;
    document.title = `${params.q} – citesearch`;
    $("results").setAttribute("aria-busy", "true");
    showMessage($("message"), "Searching…");
    let data;
    try {
      const response = await api("/v1/search", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      performance.clearMarks("citesearch:search-answer");
      performance.mark("citesearch:search-answer");
      data = await response.json();
    } catch (error) {
      if (seq !== state.searchSeq) return;
      state.shown = null;
      $("results").setAttribute("aria-busy", "false");
      $("results").replaceChildren();
      showProblem($("message"), error);
      if (error.status === 401) askForKey(() => runSearch(params), error.message);
      if (error.status === 503) checkReady();
      return;
    }
    if (seq !== state.searchSeq) return;
    renderResults(data, params, body);
    state.shown = { url: location.pathname + location.search, data };
    timeMarks("search");
    if (state.info && data.snapshot_id !== state.info.snapshot_id) loadInfo();
  }

  /** Marks for measuring (bench/page_bench.py): from the answer received (``citesearch:<what>-answer``)
      to the DOM built (measure ``citesearch:<what>-render``) and to the next frame (``…-paint``). */
  function timeMarks(what) {
    const answer = `citesearch:${what}-answer`;
    for (const step of ["rendered", "painted"]) performance.clearMarks(`citesearch:${what}-${step}`);
    for (const step of ["render", "paint"]) performance.clearMeasures(`citesearch:${what}-${step}`);
    performance.mark(`citesearch:${what}-rendered`);
    performance.measure(`citesearch:${what}-render`, answer, `citesearch:${what}-rendered`);
    requestAnimationFrame(() =>
      setTimeout(() => {
        performance.mark(`citesearch:${what}-painted`);
        performance.measure(`citesearch:${what}-paint`, answer, `citesearch:${what}-painted`);
      }, 0),
    );
  }

  $("results").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-testid=citation]");
    if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    history.replaceState({ view: "search", scrollY: window.scrollY, focus: link.dataset.rank }, "");
    history.pushState({ view: "document", fromSearch: true }, "", link.getAttribute("href"));
    route();
  });

  /** Arrow keys move between the search box and the results' citations. */
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || !["ArrowDown", "ArrowUp"].includes(event.key)) return;
    const links = [...$("results").querySelectorAll("a[data-testid=citation]")];
    const at = links.indexOf(document.activeElement);
    if (document.activeElement === $("query") && event.key === "ArrowDown" && links.length) links[0].focus();
    else if (at >= 0) (links[at + (event.key === "ArrowDown" ? 1 : -1)] || (at === 0 ? $("query") : links[at])).focus();
    else return;
    event.preventDefault();
  });

  // ---- the document view ------------------------------------------------------------------------------

  function lineOf(text, offset) {
    let line = 1;
    for (let at = text.indexOf("\n"); at !== -1 && at < offset; at = text.indexOf("\n", at + 1)) line += 1;
    return line;
  }

  /** The 1-based page of ``offset`` from the pages' start offsets (PDF). */
  function pageOf(starts, offset) {
    let low = 0;
    let high = starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (starts[mid] <= offset) low = mid;
      else high = mid - 1;
    }
    return low + 1;
  }

  function sectionOf(sections, offset) {
    let found = null;
    for (const section of sections) if (section.start <= offset) found = section.path;
    return found;
  }

  function lineStartBefore(text, offset) {
    if (offset <= 0) return 0;
    const at = text.lastIndexOf("\n", offset);
    return at === -1 || offset - at > 2000 ? offset : at + 1;
  }

  function lineEndAfter(text, offset) {
    if (offset >= text.length) return text.length;
    const at = text.indexOf("\n", offset);
    return at === -1 || at - offset > 2000 ? offset : at + 1;
  }

  /** Nodes for the text in [from, to): page labels (PDF) and the marked passage where they fall. */
  function textNodes(from, to) {
    const doc = state.doc;
    const { text, page_starts: pages } = doc.data;
    const events = [];
    if (pages) {
      pages.forEach((at, index) => {
        if (at >= from && at < to && !(doc.marked && at > doc.start && at < doc.end)) events.push([at, 0, index + 1]);
      });
    }
    if (doc.marked && doc.start >= from && doc.start < to) events.push([doc.start, 1, 0]);
    events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    const fragment = document.createDocumentFragment();
    let at = from;
    for (const [offset, kind, page] of events) {
      fragment.append(text.slice(at, offset));
      if (kind === 0) {
        fragment.append(h("span", { class: "page-label", "data-page": page }, `Page ${page}`), "\n");
        at = offset;
      } else {
        if (pages) {
          const first = pageOf(pages, doc.start);
          const last = pageOf(pages, doc.end - 1);
          fragment.append(h("span", { class: "mark-page", "data-testid": "mark-page" }, first === last ? `p. ${first}` : `pp. ${first}–${last}`));
        }
        fragment.append(h("mark", { id: "cited", tabindex: "-1", "data-testid": "cited", text: text.slice(doc.start, doc.end) }));
        at = doc.end;
      }
    }
    fragment.append(text.slice(at, to));
    return fragment;
  }

  function updateMore() {
    const { from, to } = state.doc;
    const length = state.doc.data.text.length;
    const earlier = $("show-earlier");
    const later = $("show-later");
    earlier.hidden = from === 0;
    later.hidden = to >= length;
    earlier.textContent = `Show earlier text (${plural(from, "character")} above)`;
    later.textContent = `Show later text (${plural(length - to, "character")} below)`;
  }

  $("show-earlier").addEventListener("click", () => {
    const doc = state.doc;
    const from = lineStartBefore(doc.data.text, Math.max(0, doc.from - STEP));
    $("doc-text").prepend(textNodes(from, doc.from));
    doc.from = from;
    updateMore();
    if (from === 0) $("doc-text").focus();
  });
  $("show-later").addEventListener("click", () => {
    const doc = state.doc;
    const to = lineEndAfter(doc.data.text, Math.min(doc.data.text.length, doc.to + STEP));
    $("doc-text").append(textNodes(doc.to, to));
    doc.to = to;
    updateMore();
    if (to >= doc.data.text.length) $("doc-text").focus();
  });

  function documentMeta(data, start, end, marked) {
    const rows = [["Source", data.source], ["Format", FORMAT_NAMES[data.format] || data.format]];
    if (data.date) rows.push(["Date", data.date]);
    if (marked) {
      const lines = range(lineOf(data.text, start), lineOf(data.text, end - 1));
      const characters = `characters ${start.toLocaleString("en")}–${end.toLocaleString("en")}`;
      let where = `lines ${lines}, ${characters}${ofText(data.format)}`;
      if (data.page_starts) {
        where = `page ${range(pageOf(data.page_starts, start), pageOf(data.page_starts, end - 1))}, ${where}`;
      }
      rows.push(["Cited passage", where]);
      const section = sectionOf(data.sections || [], start);
      if (section) rows.push(["Section", section]);
    }
    return rows.flatMap(([term, detail]) => [h("dt", { text: term }), h("dd", { text: detail })]);
  }

  /** The document's own metadata (front matter, PDF information, HTML meta), folded away. */
  function metadataDetails(metadata) {
    const entries = Object.entries(metadata || {});
    if (!entries.length) return null;
    const rows = entries.flatMap(([key, value]) => [
      h("dt", { text: key }),
      h("dd", { text: Array.isArray(value) ? value.join(", ") : String(value) }),
    ]);
    return h("details", { class: "doc-more" }, h("summary", { text: `Metadata (${entries.length})` }), h("dl", { class: "doc-meta" }, ...rows));
  }

  function renderDocument(data, start, end) {
    const text = data.text;
    const given = start !== null || end !== null;
    const marked = Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start < end && end <= text.length;
    document.title = `${data.title || data.doc_id} – citesearch`;
    $("doc-title").textContent = data.title || data.doc_id;
    $("doc-meta").replaceChildren(...documentMeta(data, start, end, marked));
    $("doc-more").replaceChildren(metadataDetails(data.metadata) || "");
    const notes = [];
    if (given && !marked) {
      notes.push("The link names a passage outside this document's text (the document may have changed since the search); it is shown from the start.");
    }
    let from = 0;
    let to = text.length;
    if (text.length > LONG_DOCUMENT) {
      from = marked ? lineStartBefore(text, Math.max(0, start - CONTEXT)) : 0;
      to = lineEndAfter(text, Math.min(text.length, (marked ? end : 0) + CONTEXT));
      notes.push(`A long document (${plural(text.length, "character")}): the text ${marked ? "around the cited passage" : "from its start"} is shown; the buttons show more.`);
    }
    if (notes.length) showMessage($("doc-message"), ...notes);
    else $("doc-message").replaceChildren();
    state.doc = { data, start, end, marked, from, to };
    $("doc-text").replaceChildren(textNodes(from, to));
    updateMore();
    const mark = $("cited");
    if (mark) {
      mark.scrollIntoView({ block: "center" });
      mark.focus({ preventScroll: true });
    } else {
      window.scrollTo(0, 0);
      $("doc-title").focus();
    }
  }

  async function showDocument(docId, start, end, collection = null) {
    const seq = ++state.docSeq;
    showView("document");
    $("back").href = state.shown ? state.shown.url : "/";
    $("back").textContent = state.shown ? "← Back to the results" : "← Search the documents";
    $("doc-title").textContent = docId;
    $("doc-meta").replaceChildren();
    $("doc-more").replaceChildren();
    $("doc-text").replaceChildren();
    $("show-earlier").hidden = $("show-later").hidden = true;
    showMessage($("doc-message"), "Loading the document…");
    let data;
    try {
      const where = collection ? `/v1/collections/${collection}/documents/` : "/v1/documents/";
      const response = await api(`${where}${encodeId(docId)}`);
      performance.clearMarks("citesearch:document-answer");
      performance.mark("citesearch:document-answer");
      data = await response.json();
    } catch (error) {
      if (seq !== state.docSeq) return;
      showProblem($("doc-message"), error);
      if (error.status === 401) askForKey(() => showDocument(docId, start, end, collection), error.message);
      return;
    }
    if (seq !== state.docSeq) return;
    renderDocument(data, start, end);
    timeMarks("document");
  }

  $("back").addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    if (history.state && history.state.fromSearch) history.back();
    else {
      history.pushState({ view: "search" }, "", $("back").getAttribute("href"));
      route();
    }
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !$("document-view").hidden && !$("key-dialog").open) $("back").click();
  });

  // ---- views and the address --------------------------------------------------------------------------

  function showView(name) {
    $("search-view").hidden = name !== "search";
    $("document-view").hidden = name !== "document";
  }

  function offsetParam(value) {
    return value !== null && /^\d{1,10}$/.test(value) ? Number(value) : value === null ? null : NaN;
  }

  /** Show what the address names: a document, a search (again, from memory when it is on screen), or the empty form. */
  function route() {
    const inCollection = location.pathname.match(COLLECTION_PAGE);
    if (location.pathname.startsWith("/documents/") || inCollection) {
      const query = new URLSearchParams(location.search);
      const raw = inCollection ? inCollection[2] : location.pathname.slice("/documents/".length);
      let docId;
      try {
        docId = raw.split("/").map(decodeURIComponent).join("/");
      } catch {
        docId = raw;
      }
      showDocument(docId, offsetParam(query.get("start")), offsetParam(query.get("end")), inCollection ? inCollection[1] : null);
      return;
    }
    const query = new URLSearchParams(location.search);
    const params = {};
    for (const name of PARAMS) if (query.has(name)) params[name] = query.get(name);
    fillForm(params);
    showView("search");
    const saved = history.state || {};
    if (state.shown && state.shown.url === location.pathname + location.search) {
      document.title = `${params.q} – citesearch`;
      const link = $("results").querySelector(`a[data-rank="${saved.focus}"]`);
      if (link) link.focus({ preventScroll: true });
      window.scrollTo(0, saved.scrollY || 0);
      return;
    }
    if (params.q) {
      runSearch(params);
      return;
    }
    state.shown = null;
    document.title = "citesearch";
    $("results").replaceChildren();
    showMessage(
      $("message"),
      "Results appear here, best first: each passage with its score, its document, and a link that opens the document with the passage highlighted.",
    );
  }

  window.addEventListener("popstate", route);
  history.scrollRestoration = "manual";

  async function start() {
    keyChanged();
    if ((await checkReady()) && !(await loadInfo())) return; // waiting for an API key
    route();
    if (!$("document-view").hidden) return;
    if (!$("query").value) $("query").focus();
  }

  /** What writes.js shares with this script: the same requests, elements and words. */
  window.citesearch = Object.freeze({
    api, h, explain, plural, sentence, storedKey, encodeId,
    collections: () => state.collections,
    askForKey,
    refresh: () => loadInfo(),
  });

  start();
})();
