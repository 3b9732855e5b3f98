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

/** The API's error message of a failed answer. */
function errorOf(status, text) {
  try {
    var body = JSON.parse(text);
    if (body && body.error && body.error.message) return body.error.message;
  } catch (_) { /* not JSON */ }
  return 'the server answered HTTP ' + status;
}

/** POST a file action; resolves with the JSON answer or rejects with the API's message. */
function postAction(params) {
  return fetch(actionUrl(params), {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'X-CSRF-Token': csrfToken() }
  }).then(function (r) {
    return r.text().then(function (text) {
      if (!r.ok) throw new Error(errorOf(r.status, text));
      return text ? JSON.parse(text) : null;
    });
  });
}

/** Uploads one file as the raw request body, reporting bytes sent. */
function uploadOne(file, ws, dir, onProgress) {
  return new Promise(function (resolve, reject) {
    var xhr = new XMLHttpRequest();
    xhr.open('POST', actionUrl({ get_action: 'upload', ws: ws, dir: dir, name: file.name }));
    xhr.setRequestHeader('X-CSRF-Token', csrfToken());
    xhr.upload.addEventListener('progress', function (e) {
      if (e.lengthComputable) onProgress(e.loaded);
    });
    xhr.addEventListener('load', function () {
      if (xhr.status >= 200 && xhr.status < 300) resolve();
      else reject(new Error(file.name + ': ' + errorOf(xhr.status, xhr.responseText)));
    });
    xhr.addEventListener('error', function () { reject(new Error(file.name + ': network error')); });
    xhr.send(file);
  });
}

function setStatus(text, isError) {
  var el = document.getElementById('status');
  if (!el) return;
  el.textContent = text;
  el.className = 'status ' + (isError ? 'error' : 'notice');
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

  var uploadForm = document.getElementById('upload-form');
  if (uploadForm) {
    uploadForm.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var input = document.getElementById('upload-input');
      var files = Array.prototype.slice.call(input.files);
      if (!files.length) { setStatus('Choose one or more files first.', true); return; }
      var bar = document.getElementById('upload-progress');
      var total = files.reduce(function (n, f) { return n + f.size; }, 0) || 1;
      var before = 0;
      bar.hidden = false;
      bar.value = 0;
      var chain = Promise.resolve();
      files.forEach(function (file) {
        chain = chain.then(function () {
          setStatus('Uploading ' + file.name + '…', false);
          return uploadOne(file, ws, dir, function (sent) {
            bar.value = Math.round(100 * (before + sent) / total);
            bar.textContent = bar.value + '%';
          }).then(function () { before += file.size; });
        });
      });
      chain.then(function () {
        bar.value = 100;
        done('Uploaded ' + files.length + ' file(s).')();
      }, fail);
    });
  }

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
    var path = row.dataset.path;
    var name = row.dataset.name;
    var show = function (cls) {
      return function () {
        var form = row.querySelector(cls);
        form.hidden = false;
        form.querySelector('input').focus();
      };
    };
    var hook = function (sel, fn) {
      var el = row.querySelector(sel);
      if (el) el.addEventListener('click', fn);
    };
    hook('button.rename', show('form.rename-form'));
    hook('button.move', show('form.move-form'));
    hook('button.delete', function () {
      if (!window.confirm('Delete ' + name + '? This cannot be undone.')) return;
      postAction({ get_action: 'delete', ws: ws, file: path }).then(done(name + ' deleted.'), fail);
    });
    Array.prototype.forEach.call(row.querySelectorAll('form'), function (form) {
      var hide = function () { form.hidden = true; };
      form.querySelector('button.cancel').addEventListener('click', hide);
      form.addEventListener('keydown', function (e) { if (e.key === 'Escape') hide(); });
    });
    var renameForm = row.querySelector('form.rename-form');
    if (renameForm) {
      renameForm.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var to = renameForm.querySelector('input').value.trim();
        postAction({ get_action: 'rename', ws: ws, file: path, filename_new: to })
          .then(done(name + ' renamed to ' + to + '.'), fail);
      });
    }
    var moveForm = row.querySelector('form.move-form');
    if (moveForm) {
      moveForm.addEventListener('submit', function (ev) {
        ev.preventDefault();
        var dest = moveForm.querySelector('input').value.trim() || '/';
        postAction({ get_action: 'move', ws: ws, file: path, dest: dest })
          .then(done(name + ' moved to ' + dest + '.'), fail);
      });
    }
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
