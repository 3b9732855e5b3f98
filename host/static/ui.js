// wshost web UI: the little plain JavaScript the server-rendered pages need (no framework,
// no build step). Errors are collected in window.__errors, which the browser tests read.
'use strict';

// Kept in sessionStorage, so the errors of every page this tab opened are still there after
// navigating (the browser tests read them at the end of a flow).
window.__errors = (function () {
  try { return JSON.parse(sessionStorage.getItem('wshost-errors') || '[]'); } catch (_) { return []; }
})();
function noteError(what) {
  window.__errors.push(location.pathname + ': ' + what);
  try { sessionStorage.setItem('wshost-errors', JSON.stringify(window.__errors)); } catch (_) { /* full */ }
}
window.addEventListener('error', function (e) {
  noteError(String(e.message || (e.target && (e.target.src || e.target.href)) || 'error'));
}, true);
window.addEventListener('unhandledrejection', function (e) {
  noteError('unhandled rejection: ' + (e.reason && e.reason.message || e.reason));
});
(function () {
  var original = console.error;
  console.error = function () {
    noteError(Array.prototype.join.call(arguments, ' '));
    original.apply(console, arguments);
  };
})();

/** The session's CSRF token, echoed by every state-changing request. */
function csrfToken() {
  var meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : '';
}

/** `/?get_action=…` with `params`, leaving out empty values. */
function actionUrl(params) {
  var q = new URLSearchParams();
  Object.keys(params).forEach(function (k) {
    if (params[k] !== '' && params[k] !== undefined) q.append(k, params[k]);
  });
  return '/?' + q.toString();
}

/** The API's error message of a failed answer, with the per-node refusals of a batch. */
function errorOf(status, text) {
  try {
    var body = JSON.parse(text);
    if (body && body.error && body.error.message) {
      return body.error.message + failuresOf(body.error.results || []).map(function (f) {
        return '; ' + f;
      }).join('');
    }
  } catch (_) { /* not JSON */ }
  return 'the server answered HTTP ' + status;
}

/** `node: message` for each failed node of a batch answer's results. */
function failuresOf(results) {
  return results.filter(function (r) { return !r.ok; }).map(function (r) {
    return r.node + ': ' + (r.error && r.error.message || 'failed');
  });
}

/**
 * POST a file action, `form` (URLSearchParams, optional) as its urlencoded body; resolves
 * with the JSON answer or rejects with the API's message (and the HTTP status, `.status`).
 */
function postAction(params, form) {
  return fetch(actionUrl(params), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrfToken() },
    body: form
  }).then(function (r) {
    return r.text().then(function (text) {
      if (!r.ok) {
        var e = new Error(errorOf(r.status, text));
        e.status = r.status;
        throw e;
      }
      return text ? JSON.parse(text) : null;
    });
  });
}

/** A batch action on `paths` (sent as nodes[] in the body, which a long selection fits). */
function postBatch(action, ws, paths, extra) {
  var form = new URLSearchParams(extra || {});
  paths.forEach(function (p) { form.append('nodes[]', p); });
  return postAction({ get_action: action, ws: ws }, form);
}

/** Uploads one file as the raw request body into `dir`, reporting bytes sent. */
function uploadOne(file, ws, dir, onProgress) {
  return new Promise(function (resolve, reject) {
    var xhr = new XMLHttpRequest();
    xhr.open('POST', actionUrl({ get_action: 'upload', ws: ws, dir: dir, name: file.name }));
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.upload.addEventListener('progress', function (e) {
      if (e.lengthComputable) onProgress(e.loaded, e.total);
    });
    xhr.addEventListener('load', function () {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new Error(errorOf(xhr.status, xhr.responseText)));
    });
    xhr.addEventListener('error', function () { reject(new Error('network error')); });
    xhr.send(file);
  });
}

function setStatus(text, isError) {
  var el = document.getElementById('status');
  if (!el) return;
  el.textContent = text;
  el.className = 'status ' + (isError ? 'error' : 'notice');
}

/** `a/b` from a folder and a relative path, either possibly empty. */
function joinPath(dir, rel) {
  return dir && rel ? dir + '/' + rel : dir || rel;
}

/**
 * One line of the upload list: the name, a progress bar while it is sent, then its outcome.
 * A failure replaces the bar, so that no "100 %" stays beside an error (the bar reaches
 * its end when the body is sent, before the server has answered).
 */
function uploadRow(list, label) {
  var li = document.createElement('li');
  li.className = 'upload';
  li.dataset.name = label;
  var name = document.createElement('span');
  name.className = 'name';
  name.textContent = label;
  var bar = document.createElement('progress');
  bar.max = 100;
  bar.value = 0;
  bar.setAttribute('aria-label', 'Upload of ' + label);
  var state = document.createElement('span');
  state.className = 'state';
  state.textContent = 'waiting';
  li.append(name, ' ', bar, ' ', state);
  list.appendChild(li);
  return {
    progress: function (sent, total) {
      bar.value = total ? Math.floor(100 * sent / total) : 0;
      state.textContent = bar.value + ' %';
    },
    ok: function (text) {
      bar.value = 100;
      state.textContent = text;
      li.classList.add('ok');
    },
    fail: function (message) {
      bar.remove();
      state.textContent = 'failed: ' + message;
      li.classList.add('error');
    }
  };
}

/** All entries of a dropped folder (readEntries answers in batches until an empty one). */
function readFolder(entry) {
  var reader = entry.createReader();
  var all = [];
  return new Promise(function (resolve, reject) {
    var more = function () {
      reader.readEntries(function (batch) {
        if (!batch.length) { resolve(all); return; }
        all = all.concat(batch);
        more();
      }, reject);
    };
    more();
  });
}

/**
 * What was dropped, as folders to create (parents first) and files with the folder they go
 * into, both relative to the current folder. Folders need webkitGetAsEntry, read here while
 * the drop event lasts (its items are gone afterwards); a browser without it gives files.
 */
function droppedTree(dataTransfer) {
  var tree = { folders: [], files: [] };
  var entries = [];
  Array.prototype.forEach.call(dataTransfer.items || [], function (item) {
    if (item.kind !== 'file') return;
    var entry = item.webkitGetAsEntry && item.webkitGetAsEntry();
    if (entry) entries.push(entry);
    else tree.files.push({ file: item.getAsFile(), rel: '' });
  });
  if (!dataTransfer.items || !dataTransfer.items.length) {
    Array.prototype.forEach.call(dataTransfer.files, function (file) {
      tree.files.push({ file: file, rel: '' });
    });
  }
  var walk = function (entry, rel) {
    if (entry.isFile) {
      return new Promise(function (resolve, reject) { entry.file(resolve, reject); })
        .then(function (file) { tree.files.push({ file: file, rel: rel }); });
    }
    var path = joinPath(rel, entry.name);
    tree.folders.push(path);
    return readFolder(entry).then(function (children) {
      return children.reduce(function (chain, child) {
        return chain.then(function () { return walk(child, path); });
      }, Promise.resolve());
    });
  };
  return entries.reduce(function (chain, entry) {
    return chain.then(function () { return walk(entry, ''); });
  }, Promise.resolve()).then(function () { return tree; });
}

/**
 * Uploads `tree` into `dir` one file at a time, each with its line in the upload list; a
 * failure is reported on its line and the others go on. Reloads when everything arrived.
 */
function uploadTree(tree, ws, dir) {
  var list = document.getElementById('uploads');
  list.hidden = false;
  list.textContent = '';
  var failed = 0;
  var step = function (label, run) {
    return function () {
      var row = uploadRow(list, label);
      return run(row).catch(function (e) { failed += 1; row.fail(e.message); });
    };
  };
  var chain = Promise.resolve();
  tree.folders.forEach(function (folder) {
    chain = chain.then(step(folder + '/', function (row) {
      var at = folder.lastIndexOf('/');
      return postAction({
        get_action: 'mkdir', ws: ws, dir: joinPath(dir, folder.slice(0, Math.max(at, 0))),
        dirname: folder.slice(at + 1)
      }).then(function () { row.ok('created'); }, function (e) {
        // A folder that is already there is filled, not refused.
        if (e.status === 409) row.ok('already there'); else throw e;
      });
    }));
  });
  tree.files.forEach(function (f) {
    chain = chain.then(step(joinPath(f.rel, f.file.name), function (row) {
      return uploadOne(f.file, ws, joinPath(dir, f.rel), row.progress)
        .then(function () { row.ok('done'); });
    }));
  });
  var count = tree.folders.length + tree.files.length;
  return chain.then(function () {
    if (!failed) {
      setStatus('Uploaded ' + tree.files.length + ' file(s).', false);
      window.location.reload();
    } else {
      setStatus((count - failed) + ' of ' + count + ' uploaded, ' + failed +
        ' failed (see the list below). Reload the page to see the folder.', true);
    }
  });
}

function initUploads(ws, dir) {
  var form = document.getElementById('upload-form');
  if (!form) return;
  form.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var files = Array.prototype.slice.call(document.getElementById('upload-input').files);
    if (!files.length) { setStatus('Choose one or more files first.', true); return; }
    uploadTree({ folders: [], files: files.map(function (f) { return { file: f, rel: '' }; }) }, ws, dir);
  });
  var zone = document.getElementById('drop-zone');
  var target = document.getElementById('browser');
  target.addEventListener('dragover', function (ev) {
    if (Array.prototype.indexOf.call(ev.dataTransfer.types, 'Files') < 0) return;
    ev.preventDefault();
    ev.dataTransfer.dropEffect = 'copy';
    zone.classList.add('active');
  });
  target.addEventListener('dragleave', function (ev) {
    // Leaving a child for another child is not leaving the page's drop target.
    if (!target.contains(ev.relatedTarget)) zone.classList.remove('active');
  });
  target.addEventListener('drop', function (ev) {
    ev.preventDefault();
    zone.classList.remove('active');
    droppedTree(ev.dataTransfer).then(function (tree) {
      if (!tree.files.length && !tree.folders.length) { setStatus('Nothing to upload was dropped.', true); return; }
      return uploadTree(tree, ws, dir);
    }).catch(function (e) { setStatus('The drop could not be read: ' + e.message, true); });
  });
}

/**
 * The selection: the row checkboxes (in the GET form `selection`, so "Download as zip" is a
 * plain form submission), select-all, and the batch delete, copy and move buttons.
 */
function initSelection(ws, done, fail) {
  var form = document.getElementById('selection');
  var all = document.getElementById('select-all');
  if (!form || !all) return;
  var picks = Array.prototype.slice.call(document.querySelectorAll('input.pick'));
  var buttons = form.querySelectorAll('button');
  var chosen = function () { return picks.filter(function (p) { return p.checked; }); };
  var update = function () {
    var n = chosen().length;
    document.getElementById('selected-count').textContent = n + ' selected';
    all.checked = n > 0 && n === picks.length;
    all.indeterminate = n > 0 && n < picks.length;
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = n === 0; });
  };
  picks.forEach(function (p) { p.addEventListener('change', update); });
  all.disabled = !picks.length;
  all.addEventListener('change', function () {
    picks.forEach(function (p) { p.checked = all.checked; });
    update();
  });
  update();

  var paths = function () { return chosen().map(function (p) { return p.value; }); };
  // Done, or partly: the failures stay on screen, and rows that left this folder go.
  var settle = function (verb, removes) {
    return function (answer) {
      var failures = failuresOf(answer.results);
      if (!failures.length) { done(answer.done + ' item(s) ' + verb + '.')(); return; }
      if (removes) {
        answer.results.forEach(function (r) {
          var pick = picks.filter(function (p) { return p.value === r.node; })[0];
          if (r.ok && pick) pick.closest('tr').remove();
        });
      }
      setStatus(answer.done + ' item(s) ' + verb + ', ' + answer.failed + ' failed: ' +
        failures.join('; '), true);
    };
  };
  var del = document.getElementById('batch-delete');
  if (del) {
    del.addEventListener('click', function () {
      var p = paths();
      if (!window.confirm('Delete ' + p.length + ' item(s)? This cannot be undone.')) return;
      postBatch('delete', ws, p).then(settle('deleted', true), fail);
    });
  }

  var destForm = document.getElementById('dest-form');
  var opener = null;
  var hide = function () {
    destForm.hidden = true;
    if (opener) opener.focus();
  };
  Array.prototype.forEach.call(form.querySelectorAll('button[data-action]'), function (button) {
    button.addEventListener('click', function () {
      opener = button;
      destForm.dataset.action = button.dataset.action;
      var verb = button.dataset.action === 'move' ? 'Move' : 'Copy';
      document.getElementById('dest-label').textContent =
        verb + ' the ' + paths().length + ' selected item(s) to the folder';
      document.getElementById('dest-submit').textContent = verb;
      destForm.hidden = false;
      document.getElementById('dest-input').focus();
    });
  });
  if (destForm) {
    destForm.querySelector('button.cancel').addEventListener('click', hide);
    destForm.addEventListener('keydown', function (e) { if (e.key === 'Escape') hide(); });
    destForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var action = destForm.dataset.action;
      var dest = document.getElementById('dest-input').value.trim() || '/';
      postBatch(action, ws, paths(), { dest: dest })
        .then(settle(action === 'move' ? 'moved to ' + dest : 'copied to ' + dest, action === 'move'), fail);
    });
  }
}

function initBrowser(root) {
  var ws = root.dataset.ws;
  var dir = root.dataset.dir;
  var fail = function (e) { setStatus(e.message, true); };
  var done = function (message) {
    return function () {
      setStatus(message, false);
      window.location.reload();
    };
  };
  initUploads(ws, dir);
  initSelection(ws, done, fail);

  var mkdirForm = document.getElementById('mkdir-form');
  if (mkdirForm) {
    mkdirForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var name = document.getElementById('mkdir-name').value.trim();
      postAction({ get_action: 'mkdir', ws: ws, dir: dir, dirname: name })
        .then(done('Folder ' + name + ' created.'), fail);
    });
  }

  Array.prototype.forEach.call(root.querySelectorAll('tr.entry'), function (row) {
    var button = row.querySelector('button.rename');
    var form = row.querySelector('form.rename-form');
    if (!button || !form) return;
    var hide = function () { form.hidden = true; button.focus(); };
    button.addEventListener('click', function () {
      form.hidden = false;
      form.querySelector('input').focus();
    });
    form.querySelector('button.cancel').addEventListener('click', hide);
    form.addEventListener('keydown', function (e) { if (e.key === 'Escape') hide(); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var to = form.querySelector('input').value.trim();
      postAction({ get_action: 'rename', ws: ws, file: row.dataset.path, filename_new: to })
        .then(done(row.dataset.name + ' renamed to ' + to + '.'), fail);
    });
  });
}

/** The OAuth helper: warn while a redirect URL does not start with the public URL. */
function initRedirectChecks() {
  var inputs = document.querySelectorAll('input[data-public-url]');
  var mismatch = function (input) {
    var v = input.value.trim();
    return v !== '' && v.indexOf(input.dataset.publicUrl) !== 0;
  };
  Array.prototype.forEach.call(inputs, function (input) {
    var warning = document.getElementById(input.dataset.warn);
    input.addEventListener('input', function () { warning.hidden = !mismatch(input); });
  });
  Array.prototype.forEach.call(document.querySelectorAll('form[data-check-redirects]'), function (form) {
    form.addEventListener('submit', function (ev) {
      var bad = Array.prototype.filter.call(form.querySelectorAll('input[data-public-url]'), mismatch);
      if (bad.length && !window.confirm('A redirect URL does not start with this host\'s public URL (' +
          bad[0].dataset.publicUrl + '). Save anyway?')) {
        ev.preventDefault();
      }
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll('button.copy'), function (button) {
    button.addEventListener('click', function () {
      var text = document.getElementById(button.dataset.copy).textContent;
      var copied = function () { button.textContent = 'Copied'; };
      var fallback = function () {
        var range = document.createRange();
        range.selectNodeContents(document.getElementById(button.dataset.copy));
        var sel = window.getSelection();
        sel.removeAllRanges();
        sel.addRange(range);
        if (document.execCommand('copy')) copied(); else button.textContent = 'Press Ctrl+C';
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(copied, fallback);
      } else {
        fallback();
      }
    });
  });
}

/** Forms that ask before they submit (deleting a workspace). */
function initConfirms() {
  Array.prototype.forEach.call(document.querySelectorAll('form[data-confirm]'), function (form) {
    form.addEventListener('submit', function (ev) {
      if (!window.confirm(form.dataset.confirm)) ev.preventDefault();
    });
  });
}

document.addEventListener('DOMContentLoaded', function () {
  var browser = document.getElementById('browser');
  if (browser) initBrowser(browser);
  initRedirectChecks();
  initConfirms();
});
