'use strict';
// The API console: reads the OpenRPC document and builds the page with DOM calls. Nothing the server sends is
// ever parsed as HTML; the page's policy (Trusted Types) would refuse it anyway.
(() => {
  const $ = (id) => document.getElementById(id);
  const config = document.body.dataset;
  const overWS = config.transport === 'ws';
  let doc = {};
  let lastId = 0;

  // h('tag.class', {attribute: value, onevent: fn}, ...children): children are nodes or plain text.
  function h(tag, attrs, ...children) {
    const [name, ...classes] = tag.split('.');
    const el = document.createElement(name);
    if (classes.length) el.className = classes.join(' ');
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === false || value == null) continue;
      if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? '' : value);
    }
    el.append(...children.flat(Infinity).filter((child) => child != null && child !== false && child !== ''));
    return el;
  }
  const pre = (text, label) => h('pre.code', { tabindex: '0', 'aria-label': label }, text);

  // Numbers keep the text they came as: 5.0 stays 5.0, and integers past 2**53 stay exact (as the server keeps them).
  const exact = (key, value, context) =>
    typeof value === 'number' && context && JSON.rawJSON && context.source !== String(value)
      ? JSON.rawJSON(context.source)
      : value;
  const parseJSON = (text) => JSON.parse(text, exact);
  const pretty = (value) => JSON.stringify(value, null, 2);

  // What a '#/a/b' reference points to in the document, or the object itself.
  function deref(node) {
    if (!node || typeof node.$ref !== 'string' || !node.$ref.startsWith('#/')) return node;
    let target = doc;
    for (const part of node.$ref.slice(2).split('/')) target = target && target[part.replace(/~1/g, '/').replace(/~0/g, '~')];
    return target || node;
  }

  // A short type summary of a JSON Schema, with the names of shared schemas linked to them.
  function typeOf(s) {
    if (s == null || s === true) return ['any'];
    if (s === false) return ['nothing'];
    if (typeof s.$ref === 'string') {
      const name = s.$ref.split('/').pop();
      return [s.$ref.startsWith('#/components/schemas/') ? h('a', { href: '#schema-' + name }, name) : name];
    }
    if ('const' in s) return [JSON.stringify(s.const)];
    if (Array.isArray(s.enum)) return [s.enum.map((v) => JSON.stringify(v)).join(' | ')];
    const union = s.anyOf || s.oneOf;
    if (Array.isArray(union)) return join(union.map(typeOf), ' | ');
    if (Array.isArray(s.allOf)) return join(s.allOf.map(typeOf), ' & ');
    if (Array.isArray(s.type)) return join(s.type.map((type) => typeOf({ ...s, type })), ' | ');
    if (s.type === 'array') {
      if (Array.isArray(s.prefixItems)) return ['[', ...join(s.prefixItems.map(typeOf), ', '), ']'];
      if (!s.items) return ['array'];
      return isUnion(s.items) ? ['(', ...typeOf(s.items), ')[]'] : [...typeOf(s.items), '[]'];
    }
    const values = s.additionalProperties;
    if (s.type === 'object' && !s.properties && values && typeof values === 'object') {
      return ['object<string, ', ...typeOf(values), '>'];
    }
    if (s.type) return [s.format ? `${s.type} (${s.format})` : s.type];
    return [s.title || 'any'];
  }
  const join = (parts, separator) => parts.flatMap((part, i) => (i ? [separator, ...part] : part));
  const isUnion = (s) => !!s && [s.anyOf, s.oneOf, s.type].some(Array.isArray);

  // The JSON types a schema admits ('any' when it does not say), seen through references and unions.
  function kinds(schema, depth = 0) {
    const s = deref(schema);
    if (!s || typeof s !== 'object' || depth > 8) return ['any'];
    const branches = s.anyOf || s.oneOf || (Array.isArray(s.allOf) && s.allOf.length === 1 && s.allOf);
    if (Array.isArray(branches)) return branches.flatMap((branch) => kinds(branch, depth + 1));
    if (Array.isArray(s.type)) return s.type;
    if (s.type) return [s.type];
    if (s.properties) return ['object'];
    if (Array.isArray(s.enum)) return s.enum.map((v) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v));
    return 'const' in s ? [typeof s.const] : ['any'];
  }
  // The schema itself, or the one it wraps alone (pydantic writes {allOf: [{$ref}], default} for a named default).
  const unwrap = (s) => deref(s && Array.isArray(s.allOf) && s.allOf.length === 1 ? s.allOf[0] : s) || {};

  // An example value for a schema: its default or first example, else a skeleton (required fields, or all).
  function example(schema, depth = 0) {
    const s = deref(schema);
    if (!s || typeof s !== 'object' || depth > 6) return null;
    if ('default' in s) return s.default;
    if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
    if ('const' in s) return s.const;
    if (Array.isArray(s.enum) && s.enum.length) return s.enum[0];
    const branches = s.anyOf || s.oneOf || s.allOf;
    if (Array.isArray(branches) && branches.length) {
      const useful = branches.find((branch) => deref(branch) && deref(branch).type !== 'null') || branches[0];
      return example(useful, depth + 1);
    }
    const type = Array.isArray(s.type) ? s.type.find((t) => t !== 'null') : s.type;
    if (type === 'object' || s.properties) {
      const properties = s.properties || {};
      const names = Array.isArray(s.required) && s.required.length ? s.required : Object.keys(properties);
      return Object.fromEntries(names.map((name) => [name, example(properties[name], depth + 1)]));
    }
    if (type === 'array') return s.items ? [example(s.items, depth + 1)] : [];
    return { string: 'string', integer: 0, number: 0, boolean: false }[type] ?? null;
  }

  // -- the try-it form

  function paramField(param, id) {
    const schema = param.schema || {};
    const target = unwrap(schema);
    const types = kinds(schema);
    const fallback = 'default' in schema ? `default: ${JSON.stringify(schema.default)}` : null;
    const choices = Array.isArray(target.enum) ? target.enum : target.type === 'boolean' ? [true, false] : null;
    const attrs = { id, 'aria-describedby': `${id}-t ${id}-d ${id}-e`, 'aria-required': param.required && 'true' };
    let el;
    let insert = null;
    if (choices) {
      el = h('select', attrs, h('option', { value: '' }, fallback || 'not sent'));
      choices.forEach((choice, i) => el.append(h('option', { value: String(i) }, JSON.stringify(choice))));
    } else {
      Object.assign(attrs, { spellcheck: 'false', autocomplete: 'off' });
      attrs.placeholder = fallback || (types.join() === 'string' ? 'text' : 'JSON');
      const structured = types.some((type) => type === 'object' || type === 'array');
      const inputmode = { integer: 'numeric', number: 'decimal' }[target.type];
      if (structured && !fallback) attrs.placeholder = JSON.stringify(example(schema));
      el = structured ? h('textarea', { ...attrs, rows: 2 }) : h('input', { ...attrs, type: 'text', inputmode });
      if (structured) {
        const fill = () => {
          el.value = pretty(example(schema));
          el.rows = Math.min(12, el.value.split('\n').length);
          el.focus();
        };
        insert = h('button.small', { type: 'button', onclick: fill, 'aria-label': `Insert an example for ${param.name}` }, 'Example');
      }
    }
    const error = h('p.field-error', { id: id + '-e', hidden: true });
    const description = param.description || schema.description;
    const row = h(
      'div.param',
      {},
      h(
        'div',
        {},
        h('label', { for: id }, h('code.name', {}, param.name)),
        h('span.type', { id: id + '-t' }, typeOf(schema), param.required && h('span.req', {}, ' required')),
        h(
          'div.param-text',
          { id: id + '-d' },
          description && h('p', {}, description),
          fallback && h('p', {}, 'Default ', h('code', {}, JSON.stringify(schema.default))),
        ),
      ),
      h('div', {}, el, insert, error),
    );
    const text = types.every((type) => type === 'string');
    return { name: param.name, schema, required: !!param.required, text, choices, el, error, row };
  }

  // A field's value: undefined when empty, JSON when it looks like JSON, else the text as typed.
  function readField(field) {
    const raw = field.el.value;
    if (field.choices) return raw === '' ? undefined : field.choices[Number(raw)];
    const text = raw.trim();
    if (!text) return undefined;
    if (field.text || !/^([[{"\d-]|(true|false|null)$)/.test(text)) return raw;
    try {
      return parseJSON(text);
    } catch (err) {
      if (/^[[{"]/.test(text)) throw new SyntaxError(`Not valid JSON: ${err.message}`);
      return raw; // looks like a number but is not one: the server decides
    }
  }

  function readParams(method, fields) {
    let failed = null;
    const values = fields.map((field) => {
      field.error.hidden = true;
      field.el.removeAttribute('aria-invalid');
      try {
        const value = readField(field);
        if (value === undefined && field.required) throw new Error('Required: give a value.');
        return value;
      } catch (err) {
        field.error.textContent = err.message;
        field.error.hidden = false;
        field.el.setAttribute('aria-invalid', 'true');
        failed = failed || field;
      }
    });
    if (failed) return failed.el.focus();
    if (!fields.length) return {};
    if (method.paramStructure === 'by-position') {
      while (values.length && values[values.length - 1] === undefined) values.pop();
      const schemas = fields.map((field) => field.schema);
      return { params: values.map((v, i) => (v !== undefined ? v : 'default' in schemas[i] ? schemas[i].default : null)) };
    }
    const params = {};
    fields.forEach((field, i) => values[i] !== undefined && (params[field.name] = values[i]));
    return { params };
  }

  // -- transports: each resolves to {status, statusText, text} or {network: message}

  function requestHeaders() {
    const headers = new Headers({ 'Content-Type': 'application/json', Accept: 'application/json' });
    const token = $('token').value.trim();
    if (token) headers.set('Authorization', `Bearer ${token}`);
    for (const line of $('headers').value.split('\n').filter((line) => line.trim())) {
      const colon = line.indexOf(':');
      try {
        if (colon < 1) throw new Error();
        headers.set(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
      } catch {
        throw new Error(`The request header line "${line.trim()}" is not "Name: value".`);
      }
    }
    return headers;
  }

  async function sendHTTP(request, headers) {
    try {
      const response = await fetch(config.endpoint, { method: 'POST', headers, body: JSON.stringify(request), cache: 'no-store' });
      return { status: response.status, statusText: response.statusText, text: await response.text() };
    } catch (err) {
      return { network: err.message };
    }
  }

  let socket = null;
  const waiting = new Map();
  const streams = new Map(); // subscription id -> what takes its notifications' params

  function openSocket() {
    const url = new URL(config.endpoint, location.href);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(url);
    const ready = new Promise((resolve, reject) => {
      ws.addEventListener('open', resolve);
      ws.addEventListener('close', (event) => {
        const reason = `The WebSocket closed (code ${event.code}${event.reason ? ', ' + event.reason : ''}).`;
        reject(new Error(reason));
        for (const settle of waiting.values()) settle(reason);
        for (const take of streams.values()) take({ closed: reason });
        if (socket && socket.ws === ws) socket = null;
      });
    });
    ws.addEventListener('message', (event) => {
      let message = null;
      try {
        message = parseJSON(event.data);
      } catch {}
      if (!message || typeof message !== 'object') return;
      if (typeof message.method === 'string') {
        // The server calls the page, which serves no methods, and says so.
        if ('id' in message) ws.send(JSON.stringify({ jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: message.id }));
        else if (message.params && streams.has(message.params.subscription)) streams.get(message.params.subscription)(message.params);
      } else if (waiting.has(message.id)) {
        waiting.get(message.id)(null, event.data);
      }
    });
    socket = { ws, ready };
    return socket;
  }

  async function sendWS(request) {
    try {
      const { ws, ready } = socket || openSocket();
      await ready;
      const text = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => waiting.get(request.id)('No reply came within 60 seconds.'), 60000);
        waiting.set(request.id, (failure, reply) => {
          clearTimeout(timer);
          waiting.delete(request.id);
          failure ? reject(new Error(failure)) : resolve(reply);
        });
        ws.send(JSON.stringify(request));
      });
      return { status: 0, text };
    } catch (err) {
      return { network: err.message };
    }
  }

  // -- calling, and showing the reply

  async function call(method, fields, output, button) {
    if (button.getAttribute('aria-disabled')) return;
    const { params } = readParams(method, fields) || { params: false };
    if (params === false) return output.replaceChildren(); // nothing was sent: no reply to show
    const request = { jsonrpc: '2.0', method: method.name, ...(params && { params }), id: ++lastId };
    let headers;
    try {
      headers = overWS ? null : requestHeaders();
    } catch (err) {
      return output.replaceChildren(replyBox('error', 'Not sent', '', h('p', {}, err.message)));
    }
    button.setAttribute('aria-disabled', 'true');
    output.setAttribute('aria-busy', 'true');
    output.replaceChildren(h('p.muted', {}, `Calling ${method.name}…`));
    const started = performance.now();
    const reply = overWS ? await sendWS(request) : await sendHTTP(request, headers);
    const took = ` · ${Math.round(performance.now() - started)} ms`;
    output.replaceChildren(showReply(reply, took), exchange(request, reply, headers));
    output.removeAttribute('aria-busy');
    button.removeAttribute('aria-disabled');
  }

  // -- subscriptions: a live panel of the items as they come (the last SHOWN of them), until it ends

  const SHOWN = 100;

  async function subscribe(method, fields, output, button) {
    if (!overWS) return call(method, fields, output, button); // the server says it needs the WebSocket
    if (button.getAttribute('aria-disabled')) return;
    const { params } = readParams(method, fields) || { params: false };
    if (params === false) return output.replaceChildren();
    const request = { jsonrpc: '2.0', method: method.name, ...(params && { params }), id: ++lastId };
    button.setAttribute('aria-disabled', 'true');
    output.setAttribute('aria-busy', 'true');
    output.replaceChildren(h('p.muted', {}, `Subscribing to ${method.name}…`));
    const reply = await sendWS(request);
    output.removeAttribute('aria-busy');
    let body = null;
    try {
      body = parseJSON(reply.text);
    } catch {}
    const id = body && typeof body === 'object' && typeof body.result === 'string' ? body.result : null;
    if (id === null) {
      button.removeAttribute('aria-disabled');
      return output.replaceChildren(showReply(reply, ''), exchange(request, reply));
    }
    let count = 0;
    const items = h('ol.items', { 'aria-label': 'Items', reversed: true });
    const counter = h('span.muted', {}, ' · 0 items');
    const state = h('span.state', { role: 'status' }, 'live');
    const stop = h('button', { type: 'button' }, 'Unsubscribe');
    const title = h('p.reply-title', {}, h('span.mark', {}, '● Subscription'), ' ', h('code', {}, id), ' ', state, counter);
    const panel = h('div.reply.live', { 'aria-label': `Subscription to ${method.name}` }, title, h('div.actions', {}, stop), items);
    const end = (text, kind) => {
      streams.delete(id);
      state.textContent = text;
      panel.classList.replace('live', kind);
      stop.remove();
      button.removeAttribute('aria-disabled');
    };
    streams.set(id, (params) => {
      if ('result' in params) {
        count += 1;
        counter.textContent = ` · ${count} item${count === 1 ? '' : 's'}`;
        items.prepend(h('li', {}, pre(JSON.stringify(params.result), `Item ${count}`))); // one line each
        if (items.childElementCount > SHOWN) items.lastElementChild.remove();
      } else if (params.error && typeof params.error === 'object') {
        end('ended with an error', 'error');
        items.prepend(h('li', {}, rpcError(params.error)));
      } else if (params.done === true) {
        end('completed', 'ok');
      } else if ('closed' in params) {
        end(`connection lost: ${params.closed}`, 'error');
      }
    });
    stop.addEventListener('click', async () => {
      stop.setAttribute('aria-disabled', 'true');
      const unsubscribe = method['x-subscription'].unsubscribe;
      await sendWS({ jsonrpc: '2.0', method: unsubscribe, params: [id], id: ++lastId });
      if (streams.has(id)) end('unsubscribed', 'ok');
    });
    output.replaceChildren(panel, exchange(request, reply));
  }

  const replyBox = (kind, title, took, ...content) =>
    h(
      `div.reply.${kind}`,
      {},
      h('p.reply-title', {}, h('span.mark', {}, kind === 'ok' ? '✓ Result' : '✕ Error'), ' ', title, h('span.muted', {}, took)),
      content,
    );

  const rpcError = (error) => [
    h('p', {}, h('span.errcode', {}, `Code ${'code' in error ? error.code : '?'}`), ' ', String(error.message || '')),
    'data' in error && pre(pretty(error.data), 'Error data'),
  ];

  function showReply(reply, took) {
    if ('network' in reply) return replyBox('error', 'Network error', took, h('p', {}, `No reply from the server: ${reply.network}`));
    let body = null;
    try {
      body = parseJSON(reply.text);
    } catch {}
    const rpc = body && typeof body === 'object' && !Array.isArray(body) ? body : null;
    const error = rpc && rpc.error && typeof rpc.error === 'object' ? rpc.error : null;
    if (reply.status && (reply.status < 200 || reply.status > 299)) {
      const title = `HTTP ${reply.status} ${reply.statusText}`.trim();
      return replyBox('error', title, took, error ? rpcError(error) : reply.text && pre(reply.text));
    }
    if (!reply.text) return replyBox('error', 'Empty reply', took, h('p', {}, 'The server sent nothing back.'));
    if (!rpc) return replyBox('error', 'Not a JSON-RPC reply', took, pre(reply.text));
    if (error) return replyBox('error', 'JSON-RPC error', took, rpcError(error));
    if (!('result' in rpc)) return replyBox('error', 'No result in the reply', took);
    return replyBox('ok', '', took, pre(pretty(rpc.result), 'Result'));
  }

  // The call as a curl command a shell runs as it is (single quotes, each ' written '\'').
  function curlOf(request, headers) {
    const quote = (text) => `'${String(text).replace(/'/g, "'\\''")}'`;
    const url = new URL(config.endpoint, location.href).href;
    const lines = [`curl -sS -X POST ${quote(url)}`];
    for (const [name, value] of headers) lines.push(`-H ${quote(`${name}: ${value}`)}`);
    lines.push(`--data-raw ${quote(JSON.stringify(request))}`);
    return lines.join(' \\\n  ');
  }

  function exchange(request, reply, headers) {
    let response = reply.text;
    try {
      response = pretty(parseJSON(response));
    } catch {}
    let curl = null;
    if (headers) {
      const command = curlOf(request, headers);
      const copy = h('button.small', { type: 'button' }, 'Copy as curl');
      copy.addEventListener('click', async () => {
        try {
          await navigator.clipboard.writeText(command);
          copy.textContent = 'Copied';
        } catch {
          copy.textContent = 'Copy failed: select the text';
        }
      });
      curl = [h('p.label', {}, 'As curl ', copy), pre(command, 'curl command')];
    }
    return h(
      'details.exchange',
      {},
      h('summary', {}, 'Request and response'),
      h('p.label', {}, 'Request'),
      pre(pretty(request)),
      'text' in reply && [h('p.label', {}, 'Response'), pre(response || '(empty)')],
      curl,
    );
  }

  // -- the page

  function methodView(method, index) {
    const id = 'method-' + method.name.replace(/\s/g, '_');
    const fields = (method.params || []).map((param, i) => paramField(deref(param), `p${index}-${i}`));
    const stream = method['x-subscription'] && typeof method['x-subscription'] === 'object' ? method['x-subscription'] : null;
    const output = h('div.output', { 'aria-live': 'polite' });
    const button = h('button', { type: 'submit' }, stream ? 'Subscribe' : 'Send');
    const result = method.result && deref(method.result);
    const errors = (method.errors || []).map(deref);
    const send = (event) => (event.preventDefault(), (stream ? subscribe : call)(method, fields, output, button));
    const form = h(
      'form.try',
      { 'aria-label': `Call ${method.name}`, 'aria-describedby': fields.length ? 'how' : null, onsubmit: send },
      fields.length ? h('div.params', {}, fields.map((field) => field.row)) : h('p.muted', {}, 'No parameters.'),
      h('div.actions', {}, button),
    );
    form.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) send(event);
    });
    const article = h(
      'article.method',
      { id, 'aria-labelledby': id + '-h' },
      h(
        'h3',
        { id: id + '-h' },
        h('code', {}, method.name),
        method.deprecated && h('span.badge', {}, 'deprecated'),
      ),
      method.summary && h('p.summary', {}, method.summary),
      method.description && h('p.description', {}, method.description),
      result &&
        !stream &&
        h('p.facts', {}, h('span.label', {}, 'Returns '), h('span.type', {}, typeOf(result.schema)), result.description && ` — ${result.description}`),
      method['x-guarded'] === true &&
        h('p.facts.guarded', {}, h('span.label', {}, 'Guarded: '), 'each call must pass a check (a token, a header…); see Authorize.'),
      stream &&
        h(
          'p.facts',
          {},
          h('span.label', {}, 'Subscription: yields '),
          h('span.type', {}, typeOf(stream.item && deref(stream.item).schema)),
          ` as ${stream.notification} notifications, until `,
          h('code', {}, stream.unsubscribe),
          overWS ? '' : ' (over the WebSocket endpoint only)',
        ),
      errors.length > 0 &&
        h(
          'div.facts',
          {},
          h('span.label', {}, 'Errors '),
          h('ul', {}, errors.map((error) => h('li', {}, h('code', {}, String(error.code)), ' ', error.message || ''))),
        ),
      form,
      output,
    );
    const tags = (method.tags || []).map(deref).filter((tag) => tag && tag.name);
    const words = [method.name, method.summary, method.description, ...tags.map((tag) => tag.name), ...errors.map((e) => e.message)];
    return { article, id, name: method.name, tag: tags[tags.length - 1], text: words.join(' ').toLowerCase(), deprecated: method.deprecated };
  }

  // A model as a person reads it: each field with its type (linked), whether it is required, and its text.
  function model(name, schema) {
    const s = schema || {};
    if (!s.properties || typeof s.properties !== 'object') return h('p.facts', {}, h('span.label', {}, 'Type '), h('span.type', {}, typeOf(s)));
    const required = new Set(Array.isArray(s.required) ? s.required : []);
    const rows = Object.entries(s.properties).map(([field, property]) =>
      h(
        'tr',
        {},
        h('th', { scope: 'row' }, h('code', {}, field)),
        h('td', {}, h('span.type', {}, typeOf(property))),
        h('td', {}, required.has(field) ? 'required' : 'default' in (property || {}) ? `default ${JSON.stringify(property.default)}` : 'optional'),
        h('td', {}, (property && (property.description || (deref(property) || {}).description)) || ''),
      ),
    );
    return h(
      'table.model',
      { 'aria-label': `Fields of ${name}` },
      h('thead', {}, h('tr', {}, ['Field', 'Type', 'Required', 'Description'].map((title) => h('th', { scope: 'col' }, title)))),
      h('tbody', {}, rows),
    );
  }

  const paragraphs = (text) => (text ? String(text).split(/\n\s*\n/).map((part) => h('p', {}, part.trim())) : []);

  function showDocument() {
    const info = doc.info || {};
    if (info.title) $('title').textContent = document.title = info.title;
    const where = `${overWS ? 'WebSocket' : 'POST'} ${new URL(config.endpoint, location.href).pathname}`;
    const meta = [info.version && `Version ${info.version}`, where, h('a', { href: config.openrpc }, `OpenRPC ${doc.openrpc || ''}`)];
    const separator = () => h('span.sep', { 'aria-hidden': 'true' }, ' · ');
    $('meta').replaceChildren(...meta.filter(Boolean).flatMap((item, i) => (i ? [separator(), item] : [item])));
    $('description').replaceChildren(...paragraphs(info.description));

    const methods = (doc.methods || []).map(deref).filter((method) => method && typeof method.name === 'string');
    const groups = new Map();
    methods.forEach((method, i) => {
      const view = methodView(method, i);
      const key = view.tag ? view.tag.name : '';
      if (!groups.has(key)) groups.set(key, { tag: view.tag, views: [] });
      groups.get(key).views.push(view);
    });
    const sections = [];
    const toc = h('ul.toc');
    for (const key of [...groups.keys()].sort((a, b) => (a && b ? a.localeCompare(b) : a ? 1 : -1))) {
      const group = groups.get(key);
      const title = key || (groups.size > 1 ? 'General' : 'Methods');
      const heading = 'group-' + (key || '-').replace(/\s/g, '_');
      for (const view of group.views) {
        view.link = h('li', {}, h('a', { href: '#' + view.id, class: view.deprecated && 'deprecated' }, view.name));
      }
      group.item = h('li', {}, h('a.toc-group', { href: '#' + heading }, title), h('ul', {}, group.views.map((view) => view.link)));
      group.section = h(
        'section.group',
        { 'aria-labelledby': heading },
        h('h2', { id: heading, tabindex: '-1' }, title),
        group.tag && paragraphs(group.tag.description || group.tag.summary),
        group.views.map((view) => view.article),
      );
      toc.append(group.item);
      sections.push(group.section);
    }
    const schemas = Object.entries((doc.components && doc.components.schemas) || {});
    if (schemas.length) {
      const details = schemas.map(([name, schema]) =>
        h(
          'details.schema',
          { id: 'schema-' + name },
          h('summary', {}, h('code', {}, name), schema && schema.description && ` — ${schema.description}`),
          model(name, schema),
          h('details.raw', {}, h('summary', {}, 'JSON Schema'), pre(pretty(schema), `JSON Schema of ${name}`)),
        ),
      );
      sections.push(h('section.group', { 'aria-labelledby': 'schemas' }, h('h2', { id: 'schemas' }, 'Schemas'), details));
    }
    $('toc').replaceChildren(toc);
    $('methods').replaceChildren(...sections);
    $('status').textContent = methods.length ? '' : 'This server has no methods yet.';
    $('status').hidden = methods.length > 0;

    const filter = $('filter');
    const applyFilter = () => {
      const words = filter.value.toLowerCase().split(/\s+/).filter(Boolean);
      let shown = 0;
      for (const group of groups.values()) {
        let any = false;
        for (const view of group.views) {
          const hit = words.every((word) => view.text.includes(word));
          view.article.hidden = view.link.hidden = !hit;
          any = any || hit;
          shown += hit;
        }
        group.section.hidden = group.item.hidden = !any;
      }
      const total = `${methods.length} method${methods.length === 1 ? '' : 's'}`;
      $('count').textContent = words.length ? `${shown} of ${total}` : total;
    };
    applyCurrentFilter = applyFilter;
    applyFilter();
    openTarget();
  }

  // The filter's listeners are added once; the document (and so the list it filters) may be loaded again.
  let applyCurrentFilter = () => {};
  $('filter').addEventListener('input', () => applyCurrentFilter());
  $('filter').addEventListener('keydown', (event) => {
    if (event.key === 'Escape' && $('filter').value) {
      $('filter').value = '';
      applyCurrentFilter();
    }
  });

  // Following a link to a schema opens it.
  function openTarget() {
    const target = location.hash && $(decodeURIComponent(location.hash.slice(1)));
    if (!target) return;
    if (target.tagName === 'DETAILS') target.open = true;
    target.scrollIntoView();
  }
  window.addEventListener('hashchange', openTarget);

  document.addEventListener('keydown', (event) => {
    const typing = event.target.closest && event.target.closest('input, textarea, select, [contenteditable]');
    if (event.key === '/' && !typing && !event.ctrlKey && !event.metaKey && !event.altKey) {
      event.preventDefault();
      $('filter').focus();
    }
  });

  // The list of methods is what the caller may call: it is loaded with the same headers as the calls.
  async function loadDocument() {
    let headers = { Accept: 'application/json' };
    if (!overWS) {
      headers = requestHeaders();
      headers.delete('Content-Type');
    }
    const response = await fetch(config.openrpc, { cache: 'no-store', headers });
    if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
    doc = parseJSON(await response.text());
    showDocument();
  }

  if (overWS) {
    $('auth-note').textContent =
      'Over a WebSocket a browser cannot send headers of its own: the page sends only its cookies. ' +
      'Sign in with a session cookie on this site, or call the HTTP endpoint where the server has one.';
    for (const id of ['token', 'headers', 'authorize']) $(id).disabled = true;
  }
  $('authorize').addEventListener('click', async () => {
    try {
      const count = [...requestHeaders().keys()].length - 2; // less Content-Type and Accept
      await loadDocument();
      $('auth-status').textContent = `Applied ${count} header${count === 1 ? '' : 's'}; the list shows what they may call.`;
    } catch (err) {
      $('auth-status').textContent = err.message;
    }
  });

  (async () => {
    try {
      await loadDocument();
    } catch (err) {
      $('status').textContent = `The API description (${config.openrpc}) could not be loaded: ${err.message}`;
      return $('status').classList.add('failed');
    }
  })();
})();
