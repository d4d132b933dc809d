/*
 * otel-feedback browser client: send user feedback on an answer to POST /feedback.
 * No build step, no dependencies. Load it from the endpoint that serves it:
 *
 *   <script src="/fb/feedback.js"></script>
 *   <script>
 *     const feedback = OtelFeedback.create();          // posts to /fb/feedback
 *     feedback.widget(container, token, {answer: answerElement});
 *     feedback.thumbs(token, false, {reason: "wrong city"});
 *   </script>
 *
 * Every record gets a random 32-hex id before its first attempt; retries (network errors,
 * 429, 5xx) reuse it, so the server records it once. Records not yet acknowledged when the
 * page is hidden or closed go out with navigator.sendBeacon (as text/plain, still JSON).
 */
(function (global) {
  "use strict";

  var script = document.currentScript;
  var DEFAULT_ENDPOINT =
    script && script.src ? script.src.replace(/feedback\.js(?:[?#].*)?$/, "feedback") : "/feedback";
  var MAX_RECORDS_PER_REQUEST = 50;
  var NAMES = {
    thumbs: "thumbs_up",
    rating: "rating",
    comment: "comment",
    copy: "copied",
    regenerate: "regenerated",
  };

  function newId() {
    var bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    var hex = "";
    for (var i = 0; i < bytes.length; i++) hex += (bytes[i] + 0x100).toString(16).slice(1);
    return hex;
  }

  function delay(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  /** A client posting to one endpoint. Options: endpoint, retries (3), retryDelayMs (500), names. */
  function Client(options) {
    options = options || {};
    this.endpoint = options.endpoint || DEFAULT_ENDPOINT;
    this.retries = options.retries === undefined ? 3 : options.retries;
    this.retryDelayMs = options.retryDelayMs === undefined ? 500 : options.retryDelayMs;
    this.names = Object.assign({}, NAMES, options.names || {});
    this.pending = new Map(); // id -> record, until the server acknowledged it
    var self = this;
    global.addEventListener("pagehide", function () { self.flush(); });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") self.flush();
    });
  }

  /**
   * Send one record {token, name, value, reason?, label?, kind?, id?}.
   * Resolves to {ok, status, id, error?, field?}; never rejects.
   */
  Client.prototype.send = function (record) {
    var self = this;
    var body = Object.assign({}, record);
    if (!body.id) body.id = newId();
    this.pending.set(body.id, body);
    function attempt(n) {
      return global
        .fetch(self.endpoint, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify(body),
          credentials: "omit",
          keepalive: true,
        })
        .then(function (response) {
          return response
            .json()
            .catch(function () { return {}; })
            .then(function (answer) {
              var again = response.status === 429 || response.status >= 500;
              if (again && n < self.retries) {
                var wait = Number(response.headers.get("Retry-After")) * 1000;
                return delay(wait > 0 ? wait : self.retryDelayMs * Math.pow(2, n)).then(function () {
                  return attempt(n + 1);
                });
              }
              if (!again) self.pending.delete(body.id); // accepted, or refused for good
              return {
                ok: response.status === 202,
                status: response.status,
                id: answer.id || body.id,
                error: response.status === 202 ? undefined : answer.detail || response.statusText,
                field: answer.field,
              };
            });
        })
        .catch(function () {
          if (n < self.retries) {
            return delay(self.retryDelayMs * Math.pow(2, n)).then(function () { return attempt(n + 1); });
          }
          // Kept in `pending`: it goes out with the beacon when the page is hidden.
          return { ok: false, status: 0, id: body.id, error: "the network is unreachable" };
        });
    }
    return attempt(0);
  };

  /** Send what is still pending with navigator.sendBeacon (on page hide). */
  Client.prototype.flush = function () {
    if (!this.pending.size || !global.navigator.sendBeacon) return;
    var records = Array.from(this.pending.values());
    for (var i = 0; i < records.length; i += MAX_RECORDS_PER_REQUEST) {
      var chunk = JSON.stringify(records.slice(i, i + MAX_RECORDS_PER_REQUEST));
      global.navigator.sendBeacon(this.endpoint, new Blob([chunk], { type: "text/plain" }));
    }
    this.pending.clear();
  };

  Client.prototype.thumbs = function (token, up, extra) {
    return this.send(Object.assign({ token: token, name: this.names.thumbs, value: !!up }, extra));
  };
  Client.prototype.rate = function (token, stars, extra) {
    return this.send(Object.assign({ token: token, name: this.names.rating, value: stars }, extra));
  };
  Client.prototype.comment = function (token, text, extra) {
    return this.send(Object.assign({ token: token, name: this.names.comment, value: String(text) }, extra));
  };
  Client.prototype.copied = function (token, extra) {
    return this.send(
      Object.assign({ token: token, name: this.names.copy, value: true, kind: "implicit" }, extra)
    );
  };
  Client.prototype.regenerated = function (token, extra) {
    return this.send(
      Object.assign({ token: token, name: this.names.regenerate, value: true, kind: "implicit" }, extra)
    );
  };

  var STYLE =
    ".otel-feedback{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.5rem 0}" +
    ".otel-feedback button{font:inherit;padding:.3rem .6rem;border:1px solid #888;border-radius:.4rem;" +
    "background:#fff;cursor:pointer}" +
    ".otel-feedback button[aria-pressed=true]{background:#1d4ed8;color:#fff;border-color:#1d4ed8}" +
    ".otel-feedback .otel-feedback-stars{display:inline-flex;gap:.15rem}" +
    ".otel-feedback input{font:inherit;padding:.3rem;min-width:12rem}" +
    ".otel-feedback-status{flex-basis:100%;margin:.2rem 0;min-height:1.2em}" +
    ".otel-feedback-status.ok{color:#166534}.otel-feedback-status.error{color:#b91c1c}";

  function addStyle() {
    if (document.getElementById("otel-feedback-style")) return;
    var style = document.createElement("style");
    style.id = "otel-feedback-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  function button(text, label, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    element.setAttribute("aria-label", label);
    element.addEventListener("click", onClick);
    return element;
  }

  /**
   * Render feedback controls for one answer into `container`: Helpful / Not helpful, 1-5
   * stars, a comment box, Copy (when options.answer is given), Regenerate (when
   * options.onRegenerate is given), and a status line saying "Thanks" or what went wrong.
   * Copying text out of options.answer by hand is reported too (implicit feedback).
   */
  Client.prototype.widget = function (container, token, options) {
    options = options || {};
    var self = this;
    addStyle();
    var root = document.createElement("div");
    root.className = "otel-feedback";
    root.setAttribute("role", "group");
    root.setAttribute("aria-label", "Feedback on this answer");
    var status = document.createElement("p");
    status.className = "otel-feedback-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");

    function report(what) {
      return function (result) {
        status.className = "otel-feedback-status " + (result.ok ? "ok" : "error");
        status.textContent = result.ok
          ? "Thanks! Your " + what + " was recorded."
          : "Sorry, your " + what + " could not be sent: " + result.error;
        if (options.onResult) options.onResult(what, result);
        return result;
      };
    }
    function press(group, chosen) {
      group.forEach(function (element) {
        element.setAttribute("aria-pressed", String(element === chosen));
      });
    }

    var up = button("Helpful", "Thumbs up: this answer was helpful", function () {
      press(thumbs, up);
      self.thumbs(token, true).then(report("thumbs up"));
    });
    var down = button("Not helpful", "Thumbs down: this answer was not helpful", function () {
      press(thumbs, down);
      self.thumbs(token, false).then(report("thumbs down"));
    });
    var thumbs = [up, down];
    press(thumbs, null);
    root.appendChild(up);
    root.appendChild(down);

    var stars = document.createElement("span");
    stars.className = "otel-feedback-stars";
    stars.setAttribute("role", "group");
    stars.setAttribute("aria-label", "Rate this answer from 1 to 5 stars");
    var starButtons = [];
    [1, 2, 3, 4, 5].forEach(function (n) {
      var star = button(n + "\u2605", "Rate " + n + " of 5 stars", function () {
        press(starButtons, star);
        self.rate(token, n).then(report(n + "-star rating"));
      });
      star.dataset.stars = String(n);
      starButtons.push(star);
      stars.appendChild(star);
    });
    press(starButtons, null);
    root.appendChild(stars);

    var answer = options.answer;
    if (answer) {
      root.appendChild(
        button("Copy", "Copy the answer to the clipboard", function () {
          var text = answer.textContent || "";
          var copy = global.navigator.clipboard
            ? global.navigator.clipboard.writeText(text).catch(function () {})
            : Promise.resolve();
          copy.then(function () { return self.copied(token); }).then(report("copy"));
        })
      );
      answer.addEventListener("copy", function () { self.copied(token).then(report("copy")); });
    }
    if (options.onRegenerate) {
      root.appendChild(
        button("Regenerate", "Regenerate the answer", function () {
          self.regenerated(token).then(report("regenerate request"));
          options.onRegenerate();
        })
      );
    }

    var comment = document.createElement("input");
    comment.type = "text";
    comment.placeholder = "Add a comment";
    comment.setAttribute("aria-label", "Comment on this answer");
    comment.maxLength = 4000;
    var sendComment = button("Send comment", "Send the comment", function () {
      if (!comment.value.trim()) return;
      self.comment(token, comment.value.trim()).then(report("comment")).then(function (result) {
        if (result.ok) comment.value = "";
      });
    });
    root.appendChild(comment);
    root.appendChild(sendComment);
    root.appendChild(status);
    container.appendChild(root);
    return root;
  };

  global.OtelFeedback = {
    Client: Client,
    create: function (options) { return new Client(options); },
    newId: newId,
    NAMES: NAMES,
  };
})(window);
