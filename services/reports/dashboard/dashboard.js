/* dashboard.js - draws a school's, a trust's or an LA's attendance dashboard
 * from the reports JSON API (docs/reports-api.md, docs/dashboard.md).
 *
 * The bearer token comes in the URL fragment (#token=..., which browsers never
 * send to a server) or from the form shown without one; it is kept in this
 * tab's sessionStorage and taken out of the address bar at once. Charts are
 * inline SVG written here: no library, nothing from any other host. Every
 * value that reaches the page's HTML goes through esc(). */
(function () {
  "use strict";

  var TOKEN_KEY = "rollcall.reports.token";
  var LIST_ROWS = 50; /* rows shown per working list; the CSV has them all */
  var COHORTS = [
    ["sen", "SEN"],
    ["fsm", "FSM"],
    ["eal", "EAL"],
    ["cla", "CLA"],
    ["social_worker", "Social worker"],
  ];
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  /* Graphics colours, each at least 3:1 against white (WCAG 1.4.11). */
  var ACCENT = "#1d4ed8",
    COHORT = "#0f766e",
    GOOD = "#15803d",
    WARN = "#b45309",
    BAD = "#b91c1c",
    PA = "#7c3aed";
  var STAGE_SHADES = ["#8b5cf6", "#7c3aed", "#6d28d9", "#5b21b6", "#4c1d95"]; /* later stages darker */

  var token = null;
  var memoryToken = null; /* when sessionStorage is refused */
  var $ = function (id) {
    return document.getElementById(id);
  };

  /* ---- small helpers ---- */

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }
  function pct(v) {
    return isNum(v) ? v.toFixed(1) + "%" : "\u2013";
  }
  function pctBare(v) {
    return isNum(v) ? v.toFixed(1) : "\u2013";
  }
  function num(v) {
    return isNum(v) ? v.toLocaleString("en-GB") : "\u2013";
  }
  function share(n, d) {
    return isNum(n) && isNum(d) && d > 0 ? (100 * n) / d : null;
  }
  function human(s) {
    s = String(s).replace(/_/g, " ");
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  function ymd(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
  }
  function dateShort(iso) {
    var d = ymd(iso);
    return d ? d[2] + " " + MONTHS[d[1] - 1] : iso || "";
  }
  function dateLong(iso) {
    var d = ymd(iso);
    return d ? d[2] + " " + MONTHS[d[1] - 1] + " " + d[0] : iso || "not yet";
  }
  function yearName(y) {
    var n = Number(y);
    if (n === -2) return "Nursery 1";
    if (n === -1) return "Nursery 2";
    if (n === 0) return "Reception";
    return "Year " + y;
  }
  function pupilName(r) {
    return [r.forename, r.surname].filter(Boolean).join(" ") || r.upn || "";
  }
  var KINDS = {
    cme: "Child missing education",
    penalty_threshold: "Penalty threshold",
    severe_absence: "Severe absence",
    illness_15_days: "15 days of illness",
    deletion_candidate: "Deletion from the roll",
    stage_referral: "Stage referral",
  };
  function kindName(k) {
    return KINDS[k] || human(k);
  }
  function enc(s) {
    return encodeURIComponent(s);
  }
  function bandColour(name) {
    var n = String(name).toLowerCase();
    if (n.indexOf("green") >= 0) return GOOD;
    if (n.indexOf("red") >= 0) return BAD;
    if (n.indexOf("lower") >= 0) return "#c2410c";
    if (n.indexOf("amber") >= 0) return WARN;
    return "#475569";
  }
  function bandTag(name) {
    if (!name) return '<span class="tag">none</span>';
    var n = String(name).toLowerCase();
    var cls = n.indexOf("green") >= 0 ? "green" : n.indexOf("red") >= 0 ? "red" : n.indexOf("amber") >= 0 ? "amber" : "";
    return '<span class="tag ' + cls + '">' + esc(human(name)) + "</span>";
  }
  /* niceFloor is a lower bound for a percentage axis: a multiple of 5 at
   * least 2 points under the lowest value, so differences near the top show. */
  function niceFloor(values) {
    var lo = Math.min.apply(null, values.concat([100]));
    return Math.max(0, Math.floor((lo - 2) / 5) * 5);
  }
  function ticks(lo, hi, want) {
    var span = hi - lo,
      steps = [1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000],
      step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i++)
      if (span / steps[i] <= want) {
        step = steps[i];
        break;
      }
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(v);
    return out;
  }
  function f1(v) {
    return Math.round(v * 10) / 10;
  }

  /* ---- the token ---- */

  function storeToken(t) {
    memoryToken = t;
    try {
      if (t) sessionStorage.setItem(TOKEN_KEY, t);
      else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage refused: the token lives until the page is left */
    }
  }
  function readToken() {
    try {
      return sessionStorage.getItem(TOKEN_KEY) || memoryToken;
    } catch (e) {
      return memoryToken;
    }
  }
  /* takeToken moves #token=... into storage and out of the address bar (and
   * so out of the history and of anything copied from it). */
  function takeToken() {
    var h = location.hash;
    if (h.indexOf("#token=") === 0) {
      var t = "";
      try {
        t = decodeURIComponent(h.slice(7)).trim();
      } catch (e) {
        t = "";
      }
      if (t) storeToken(t);
      history.replaceState(null, "", location.pathname + location.search);
    }
    return readToken();
  }

  function askToken(message) {
    $("status").innerHTML = message ? '<p class="problem">' + esc(message) + "</p>" : "";
    $("nav").innerHTML = "";
    $("content").innerHTML =
      '<form class="token" id="token-form">' +
      "<h2>Sign in with a reports token</h2>" +
      "<p>Paste the bearer token you were given for rollcall-reports. It is kept in this browser tab only, " +
      "and sent only to this server.</p>" +
      '<label for="token-input">Token</label>' +
      '<input id="token-input" type="password" autocomplete="off" spellcheck="false" required>' +
      '<button class="primary" type="submit">Show the dashboard</button></form>';
    $("token-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var t = $("token-input").value.trim();
      if (!t) return;
      storeToken(t);
      start();
    });
    $("token-input").focus();
  }

  /* ---- the API ---- */

  function ApiError(status, message) {
    this.status = status;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function call(path, accept) {
    return fetch(path, {
      headers: { Authorization: "Bearer " + token, Accept: accept },
      cache: "no-store",
      credentials: "omit",
    }).then(function (r) {
      if (r.ok) return r;
      return r
        .json()
        .catch(function () {
          return null;
        })
        .then(function (j) {
          throw new ApiError(r.status, j && j.error ? j.error : "the server answered " + r.status);
        });
    });
  }
  function api(path) {
    return call(path, "application/json").then(function (r) {
      return r.json().then(function (j) {
        var total = r.headers.get("X-Total-Count");
        return { json: j, total: total === null ? null : Number(total) };
      });
    });
  }

  function downloadCsv(btn) {
    var path = btn.getAttribute("data-csv"),
      name = btn.getAttribute("data-file"),
      label = btn.textContent,
      note = btn.parentNode.querySelector(".csvnote");
    btn.disabled = true;
    btn.textContent = "Preparing\u2026";
    call(path, "text/csv")
      .then(function (r) {
        return r.blob();
      })
      .then(function (blob) {
        var url = URL.createObjectURL(blob),
          a = document.createElement("a");
        a.href = url;
        a.download = name;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(function () {
          URL.revokeObjectURL(url);
        }, 30000);
        if (note) note.textContent = "";
      })
      .catch(function (e) {
        if (note) note.textContent = "Could not download: " + e.message;
      })
      .then(function () {
        btn.disabled = false;
        btn.textContent = label;
      });
  }

  /* ---- charts (inline SVG strings) ---- */

  var chartSeq = 0;
  function svgOpen(w, h, title, desc) {
    var id = "c" + ++chartSeq;
    return (
      '<svg class="chart" viewBox="0 0 ' + w + " " + h + '" width="' + w + '" height="' + h +
      '" role="img" aria-labelledby="' + id + "t " + id + 'd" preserveAspectRatio="xMinYMin meet">' +
      '<title id="' + id + 't">' + esc(title) + "</title>" +
      '<desc id="' + id + 'd">' + esc(desc) + "</desc>"
    );
  }
  function txt(x, y, s, attrs) {
    return '<text x="' + f1(x) + '" y="' + f1(y) + '"' + (attrs ? " " + attrs : "") + ">" + esc(s) + "</text>";
  }
  function figure(id, title, caption, body, legend, table) {
    return (
      '<figure id="' + id + '" class="chartfig">' +
      (caption ? "<figcaption>" + esc(caption) + "</figcaption>" : "") +
      body +
      (legend || "") +
      (table ? "<details><summary>Show the numbers</summary>" + table + "</details>" : "") +
      "</figure>"
    );
  }
  function table(heads, rows, numCols) {
    var h = heads
      .map(function (x, i) {
        return '<th scope="col"' + (numCols && numCols.indexOf(i) >= 0 ? ' class="num"' : "") + ">" + esc(x) + "</th>";
      })
      .join("");
    var b = rows
      .map(function (r) {
        return (
          "<tr>" +
          r
            .map(function (c, i) {
              return (numCols && numCols.indexOf(i) >= 0 ? '<td class="num">' : "<td>") + esc(c) + "</td>";
            })
            .join("") +
          "</tr>"
        );
      })
      .join("");
    return '<div class="tablewrap"><table><thead><tr>' + h + "</tr></thead><tbody>" + b + "</tbody></table></div>";
  }
  function legend(items) {
    return (
      '<ul class="legend">' +
      items
        .map(function (it) {
          var style = it.dash ? '<i class="dash"></i>' : '<i class="' + (it.line ? "line" : "") + ' sw-' + it.key + '"></i>';
          return "<li>" + style + esc(it.label) + "</li>";
        })
        .join("") +
      "</ul>"
    );
  }

  /* weeklyChart: the weekly attendance % as a line, the target dashed. */
  function weeklyChart(id, weeks, target, what) {
    weeks = weeks || [];
    var W = 1100,
      H = 310,
      ml = 52,
      mr = 96,
      mt = 16,
      mb = 44;
    var pw = W - ml - mr,
      ph = H - mt - mb;
    var vals = weeks.filter(function (w) {
      return isNum(w.attendance_pct);
    });
    var caption = "Attendance each school week" + (what ? " (" + what + ")" : "") +
      (isNum(target) ? ", against the target of " + pct(target) : "") + ".";
    var rows = weeks.map(function (w) {
      return [dateLong(w.week), num(w.possible_sessions), num(w.attended_sessions), pctBare(w.attendance_pct)];
    });
    var numbers = table(["Week beginning", "Possible sessions", "Attended sessions", "Attendance %"], rows, [1, 2, 3]);
    if (!vals.length)
      return figure(id, "", caption, svgOpen(W, 60, "Weekly attendance", "No sessions yet.") +
        txt(ml, 34, "No sessions recorded yet.", 'class="muted"') + "</svg>", "", numbers);
    var lo = niceFloor(vals.map(function (w) {
      return w.attendance_pct;
    }).concat(isNum(target) ? [target] : []));
    var hi = 100,
      n = weeks.length;
    var x = function (i) {
      return ml + (n === 1 ? pw / 2 : (i * pw) / (n - 1));
    };
    var y = function (v) {
      return mt + ((hi - v) / (hi - lo)) * ph;
    };
    var first = vals[0],
      last = vals[vals.length - 1],
      low = vals.reduce(function (a, b) {
        return b.attendance_pct < a.attendance_pct ? b : a;
      });
    var desc = "From " + pct(first.attendance_pct) + " in the week of " + dateLong(first.week) + " to " +
      pct(last.attendance_pct) + " in the week of " + dateLong(last.week) + "; lowest " +
      pct(low.attendance_pct) + " in the week of " + dateLong(low.week) + "." +
      (isNum(target) ? " Target " + pct(target) + "." : "");
    var s = svgOpen(W, H, "Weekly attendance" + (what ? " - " + what : ""), desc);
    s += '<g class="grid axis">';
    ticks(lo, hi, 6).forEach(function (t) {
      s += '<line x1="' + ml + '" x2="' + (W - mr) + '" y1="' + f1(y(t)) + '" y2="' + f1(y(t)) + '"></line>';
      s += txt(ml - 8, y(t) + 4, t + "%", 'text-anchor="end"');
    });
    var every = Math.max(1, Math.ceil(n / 12));
    weeks.forEach(function (w, i) {
      if (i % every === 0 || i === n - 1)
        s += txt(x(i), H - mb + 18, dateShort(w.week), 'text-anchor="middle"');
    });
    s += txt(ml, H - 6, "Week beginning", 'class="muted"');
    s += "</g>";
    s += '<line class="baseline" x1="' + ml + '" x2="' + (W - mr) + '" y1="' + (H - mb) + '" y2="' + (H - mb) + '"></line>';
    /* the line, broken where a week had no possible sessions */
    var d = "",
      area = "",
      run = [];
    var flush = function () {
      if (run.length > 1)
        area += "M" + f1(x(run[0])) + " " + (H - mb) + run.map(function (i) {
          return "L" + f1(x(i)) + " " + f1(y(weeks[i].attendance_pct));
        }).join("") + "L" + f1(x(run[run.length - 1])) + " " + (H - mb) + "Z";
      run = [];
    };
    weeks.forEach(function (w, i) {
      if (!isNum(w.attendance_pct)) {
        flush();
        return;
      }
      d += (run.length ? "L" : "M") + f1(x(i)) + " " + f1(y(w.attendance_pct));
      run.push(i);
    });
    flush();
    s += '<path class="area" d="' + area + '"></path>';
    s += '<path class="trend" d="' + d + '"></path>';
    if (isNum(target)) {
      s += '<line class="targetline" x1="' + ml + '" x2="' + (W - mr) + '" y1="' + f1(y(target)) + '" y2="' + f1(y(target)) + '"></line>';
      s += txt(W - mr + 6, y(target) + 4, "Target " + pct(target), 'class="target"');
    }
    weeks.forEach(function (w, i) {
      if (!isNum(w.attendance_pct)) return;
      var below = isNum(target) && w.attendance_pct < target;
      s += '<circle class="dot' + (below ? " below" : "") + '" cx="' + f1(x(i)) + '" cy="' + f1(y(w.attendance_pct)) +
        '" r="4"><title>Week of ' + esc(dateLong(w.week)) + ": " + esc(pct(w.attendance_pct)) + " (" +
        esc(num(w.attended_sessions)) + " of " + esc(num(w.possible_sessions)) + " sessions)</title></circle>";
    });
    s += txt(x(n - 1) + 8, y(last.attendance_pct) - 8, pct(last.attendance_pct), 'class="value"');
    s += "</svg>";
    var leg = legend([{ key: "accent", line: true, label: "Attendance % that week" }]
      .concat(isNum(target) ? [{ dash: true, label: "Target " + pct(target) }] : [])
      .concat(isNum(target) ? [{ key: "bad", label: "Week below the target" }] : []));
    return figure(id, "", caption, s, leg, numbers);
  }

  /* hbars: horizontal bars, one per row {label, value, text, colour, tip};
   * o: {min, max, target, unit, title, desc, labelWidth, width}. */
  function hbars(rows, o) {
    var W = o.width || 560,
      lw = o.labelWidth || 150,
      vw = 118,
      rowH = 30,
      mt = isNum(o.target) ? 26 : 8,
      mb = 30;
    var H = mt + rows.length * rowH + mb,
      pw = W - lw - vw,
      min = o.min || 0,
      max = o.max > min ? o.max : min + 1;
    var x = function (v) {
      return lw + (Math.max(min, Math.min(max, v)) - min) / (max - min) * pw;
    };
    var s = svgOpen(W, H, o.title, o.desc);
    s += '<g class="grid axis">';
    ticks(min, max, 5).forEach(function (t) {
      s += '<line x1="' + f1(x(t)) + '" x2="' + f1(x(t)) + '" y1="' + mt + '" y2="' + (H - mb) + '"></line>';
      s += txt(x(t), H - mb + 16, t + (o.unit || ""), 'text-anchor="middle"');
    });
    s += "</g>";
    rows.forEach(function (r, i) {
      var top = mt + i * rowH,
        cy = top + rowH / 2;
      s += txt(lw - 10, cy + 4, r.label, 'text-anchor="end"');
      s += '<rect class="track" x="' + lw + '" y="' + (top + 5) + '" width="' + f1(pw) + '" height="' + (rowH - 10) + '"></rect>';
      if (isNum(r.value)) {
        var wv = Math.max(2, x(r.value) - lw);
        s += '<rect x="' + lw + '" y="' + (top + 5) + '" width="' + f1(wv) + '" height="' + (rowH - 10) + '" rx="3" fill="' +
          r.colour + '"><title>' + esc(r.tip || r.label + ": " + r.text) + "</title></rect>";
      }
      s += txt(lw + pw + 8, cy + 4, r.text, 'class="value"');
    });
    if (isNum(o.target) && o.target >= min && o.target <= max) {
      s += '<line class="targetline" x1="' + f1(x(o.target)) + '" x2="' + f1(x(o.target)) + '" y1="' + (mt - 4) + '" y2="' + (H - mb) + '"></line>';
      s += txt(x(o.target), mt - 10, "Target " + pct(o.target), 'class="target" text-anchor="middle"');
    }
    return s + "</svg>";
  }

  /* bandRank orders bands best first when their names say so (green, amber,
   * red), the API's order otherwise. */
  function bandRank(name) {
    var n = String(name).toLowerCase();
    if (n.indexOf("green") >= 0) return 0;
    if (n.indexOf("upper") >= 0) return 1;
    if (n.indexOf("lower") >= 0) return 3;
    if (n.indexOf("amber") >= 0) return 2;
    if (n.indexOf("red") >= 0) return 4;
    return 5;
  }
  function bandsChart(id, bands, pupils) {
    bands = (bands || []).map(function (b, i) {
      return { b: b, i: i };
    }).sort(function (x, y) {
      return bandRank(x.b.band) - bandRank(y.b.band) || x.i - y.i;
    }).map(function (x) {
      return x.b;
    });
    var total = bands.reduce(function (a, b) {
      return a + (b.pupils || 0);
    }, 0);
    var max = Math.max.apply(null, bands.map(function (b) {
      return b.pupils || 0;
    }).concat([1]));
    var rows = bands.map(function (b) {
      return {
        label: human(b.band),
        value: b.pupils,
        colour: bandColour(b.band),
        text: num(b.pupils) + " (" + pct(share(b.pupils, total)) + ")",
      };
    });
    var desc = bands.map(function (b) {
      return human(b.band) + ": " + b.pupils + " pupils";
    }).join("; ") || "No pupils in a band yet.";
    var caption = "Pupils in each of the policy's attendance bands" +
      (isNum(pupils) && pupils > total ? " (" + num(pupils - total) + " not yet in a band)" : "") + ".";
    var body = bands.length ? hbars(rows, { max: max, title: "Pupils by attendance band", desc: desc, labelWidth: 120 })
      : svgOpen(560, 40, "Pupils by attendance band", desc) + txt(0, 24, "No pupils in a band yet.", 'class="muted"') + "</svg>";
    var numbers = table(["Band", "Pupils", "Share"], bands.map(function (b) {
      return [human(b.band), num(b.pupils), pct(share(b.pupils, total))];
    }), [1, 2]);
    return figure(id, "", caption, body, "", numbers);
  }

  /* cohortChart: attendance of all pupils against each cohort's. */
  function cohortChart(id, m, target) {
    var groups = [["all", "All pupils", m]].concat(COHORTS.map(function (c) {
      return [c[0], c[1], (m.by_cohort && m.by_cohort[c[0]]) || m[c[0]] || null];
    }));
    var vals = groups.map(function (g) {
      return g[2] && g[2].attendance_pct;
    }).filter(isNum);
    var lo = niceFloor(vals.concat(isNum(target) ? [target] : []));
    var rows = groups.map(function (g, i) {
      var x = g[2] || {};
      return {
        label: g[1],
        value: x.attendance_pct,
        colour: i === 0 ? ACCENT : COHORT,
        text: pct(x.attendance_pct) + " \u00b7 " + num(x.pupils || 0),
        tip: g[1] + ": " + pct(x.attendance_pct) + " attendance, " + num(x.pupils || 0) + " pupils, " +
          num(x.persistent_absentees || 0) + " persistently absent",
      };
    });
    var desc = groups.map(function (g) {
      return g[1] + " " + pct(g[2] && g[2].attendance_pct);
    }).join("; ") + ".";
    var body = hbars(rows, { min: lo, max: 100, target: target, unit: "%", title: "Attendance by cohort", desc: desc, labelWidth: 110 });
    var numbers = table(["Group", "Pupils", "Attendance %", "Persistent absentees", "PA %", "Severe absentees"],
      groups.map(function (g) {
        var x = g[2] || {};
        return [g[1], num(x.pupils || 0), pctBare(x.attendance_pct), num(x.persistent_absentees || 0),
          pctBare(share(x.persistent_absentees, x.pupils)), num(x.severe_absentees || 0)];
      }), [1, 2, 3, 4, 5]);
    return figure(id, "", "Attendance % of every pupil against each cohort's (bars start at " + lo +
      "%; the number after the % is the cohort's pupils).", body, "", numbers);
  }

  function yearChart(id, byYear, target, width) {
    var keys = Object.keys(byYear || {}).sort(function (a, b) {
      return Number(a) - Number(b);
    }).filter(function (k) {
      return byYear[k] && byYear[k].pupils > 0;
    });
    var vals = keys.map(function (k) {
      return byYear[k].attendance_pct;
    }).filter(isNum);
    var lo = niceFloor(vals.concat(isNum(target) ? [target] : []));
    var rows = keys.map(function (k) {
      var m = byYear[k];
      return {
        label: yearName(k),
        value: m.attendance_pct,
        colour: !isNum(target) ? ACCENT : isNum(m.attendance_pct) && m.attendance_pct < target ? WARN : GOOD,
        text: pct(m.attendance_pct) + " \u00b7 " + num(m.pupils),
      };
    });
    var desc = keys.map(function (k) {
      return yearName(k) + " " + pct(byYear[k].attendance_pct);
    }).join("; ") || "No pupils yet.";
    var body = hbars(rows, { min: lo, max: 100, target: target, unit: "%", title: "Attendance by year group", desc: desc,
      labelWidth: 110, width: width });
    var numbers = table(["Year group", "Pupils", "Attendance %", "Persistent absentees", "Severe absentees"], keys.map(function (k) {
      var m = byYear[k];
      return [yearName(k), num(m.pupils), pctBare(m.attendance_pct), num(m.persistent_absentees), num(m.severe_absentees)];
    }), [1, 2, 3, 4]);
    return figure(id, "", "Attendance % of each year group" +
      (isNum(target) ? "; orange below the target" : "") + " (bars start at " + lo + "%).", body, "", numbers);
  }

  /* stageOrder keeps the stages in the API's order, the policy's ladder
   * order, without "none". */
  function stageOrder(names) {
    return names.filter(function (k) {
      return k !== "none";
    });
  }

  /* stagesChart: per track, a funnel of the pupils on each stage, in the
   * policy's order, pupils on no stage told apart; head (optional) is
   * HTML put before the tracks. */
  function stagesChart(id, stages, asPart) {
    var tracks = Object.keys(stages || {});
    if (!tracks.length && asPart) return { body: '<p class="empty">No tracks.</p>', rows: [] };
    if (!tracks.length)
      return figure(id, "", "No pupil is on any stage of the policy's tracks.",
        svgOpen(560, 40, "Stages", "No stages.") + txt(0, 24, "No stages yet.", 'class="muted"') + "</svg>");
    var body = "",
      rowsAll = [];
    tracks.forEach(function (t) {
      var st = stages[t] || {},
        names = stageOrder(Object.keys(st)),
        none = st.none || 0;
      var on = names.reduce(function (a, k) {
        return a + (st[k] || 0);
      }, 0);
      names.forEach(function (k) {
        rowsAll.push([human(t), human(k), num(st[k] || 0)]);
      });
      rowsAll.push([human(t), "On no stage", num(none)]);
      body += "<h3>" + esc(human(t)) + ' <span class="note">' + esc(num(on)) + " on a stage, " + esc(num(none)) +
        " on none</span></h3>";
      if (!names.length) {
        body += '<p class="empty">No pupil is on a stage of this track.</p>';
        return;
      }
      var W = asPart ? 380 : 560,
        lw = asPart ? 150 : 190,
        vw = asPart ? 44 : 60,
        rowH = 28,
        H = names.length * rowH + 6,
        fw = W - lw - vw,
        cx = lw + fw / 2;
      var max = Math.max.apply(null, names.map(function (k) {
        return st[k] || 0;
      }).concat([1]));
      var desc = names.map(function (k) {
        return human(k) + ": " + (st[k] || 0);
      }).join("; ");
      var s = svgOpen(W, H, "Stages of the " + human(t) + " track", desc);
      names.forEach(function (k, i) {
        var v = st[k] || 0,
          w = v ? Math.max(6, (v / max) * fw) : 0,
          top = 3 + i * rowH;
        s += txt(lw - 10, top + rowH / 2 + 4, human(k), 'text-anchor="end"');
        s += '<rect class="track" x="' + lw + '" y="' + (top + 3) + '" width="' + fw + '" height="' + (rowH - 6) + '"></rect>';
        if (w)
          s += '<rect x="' + f1(cx - w / 2) + '" y="' + (top + 3) + '" width="' + f1(w) + '" height="' + (rowH - 6) +
            '" rx="3" fill="' + STAGE_SHADES[Math.min(i, STAGE_SHADES.length - 1)] + '"><title>' + esc(human(k) + ": " + v + " pupils") +
            "</title></rect>";
        s += txt(lw + fw + 10, top + rowH / 2 + 4, num(v), 'class="value"');
      });
      body += s + "</svg>";
    });
    if (asPart) return { body: body, rows: rowsAll };
    return figure(id, "", "Pupils on each stage of each track, in the policy's order.", body, "",
      table(["Track", "Stage", "Pupils"], rowsAll, [2]));
  }

  /* schoolsChart: each school's attendance % and persistent absence %,
   * lowest attendance first. */
  function schoolsChart(id, schools, kind, common) {
    var list = schools.slice().sort(function (a, b) {
      var x = isNum(a.attendance_pct) ? a.attendance_pct : 101,
        y = isNum(b.attendance_pct) ? b.attendance_pct : 101;
      return x - y || String(a.name).localeCompare(String(b.name));
    });
    var W = 1100,
      lw = 280,
      gap = 40,
      rowH = 40,
      mt = 40,
      mb = 30;
    var aw = 430,
      pw = W - lw - aw - gap - 60,
      H = mt + list.length * rowH + mb;
    var targets = list.map(function (s) {
      return s.target_pct;
    }).filter(isNum);
    var lo = niceFloor(list.map(function (s) {
      return s.attendance_pct;
    }).filter(isNum).concat(targets));
    var paVals = list.map(function (s) {
      return share(s.persistent_absentees, s.pupils);
    }).filter(isNum);
    var paMax = Math.ceil((Math.max.apply(null, paVals.concat([8])) * 1.05) / 10) * 10;
    var ax = function (v) {
      return lw + ((Math.max(lo, Math.min(100, v)) - lo) / (100 - lo)) * (aw - 60);
    };
    var px0 = lw + aw + gap,
      px = function (v) {
        return px0 + (Math.min(paMax, Math.max(0, v)) / paMax) * (pw - 10);
      };
    var desc = list.map(function (s) {
      return s.name + ": attendance " + pct(s.attendance_pct) + ", persistent absence " +
        pct(share(s.persistent_absentees, s.pupils));
    }).join("; ") + ".";
    var s = svgOpen(W, H, "Schools compared", desc);
    s += txt(lw, 16, "Attendance % (from " + lo + "%)", 'class="value"');
    s += txt(px0, 16, "Persistent absentees, % of pupils", 'class="value"');
    s += '<g class="grid axis">';
    ticks(lo, 100, 5).forEach(function (t) {
      s += '<line x1="' + f1(ax(t)) + '" x2="' + f1(ax(t)) + '" y1="' + (mt - 8) + '" y2="' + (H - mb) + '"></line>';
      s += txt(ax(t), H - mb + 16, t + "%", 'text-anchor="middle"');
    });
    ticks(0, paMax, 4).forEach(function (t) {
      s += '<line x1="' + f1(px(t)) + '" x2="' + f1(px(t)) + '" y1="' + (mt - 8) + '" y2="' + (H - mb) + '"></line>';
      s += txt(px(t), H - mb + 16, t + "%", 'text-anchor="middle"');
    });
    s += "</g>";
    list.forEach(function (sc, i) {
      var top = mt + i * rowH,
        cy = top + rowH / 2,
        a = sc.attendance_pct,
        p = share(sc.persistent_absentees, sc.pupils);
      var met = isNum(sc.target_pct) && isNum(a) ? a >= sc.target_pct : null;
      var colour = met === null ? ACCENT : met ? GOOD : BAD;
      s += '<a href="/dashboard/school/' + esc(enc(sc.urn)) + '">' + txt(lw - 12, cy - 2, sc.name, 'text-anchor="end"') +
        "</a>" + txt(lw - 12, cy + 13, "URN " + sc.urn + " \u00b7 " + num(sc.pupils) + " pupils", 'text-anchor="end" class="muted"');
      s += '<rect class="track" x="' + lw + '" y="' + (top + 8) + '" width="' + (aw - 60) + '" height="' + (rowH - 16) + '"></rect>';
      if (isNum(a))
        s += '<rect x="' + lw + '" y="' + (top + 8) + '" width="' + f1(Math.max(2, ax(a) - lw)) + '" height="' + (rowH - 16) +
          '" rx="3" fill="' + colour + '"><title>' + esc(sc.name + ": attendance " + pct(a) +
          (isNum(sc.target_pct) ? ", target " + pct(sc.target_pct) : "")) + "</title></rect>";
      if (isNum(sc.target_pct) && sc.target_pct >= lo)
        s += '<line class="targetline" x1="' + f1(ax(sc.target_pct)) + '" x2="' + f1(ax(sc.target_pct)) + '" y1="' + (top + 4) +
          '" y2="' + (top + rowH - 4) + '"><title>Target ' + esc(pct(sc.target_pct)) + "</title></line>";
      s += txt(lw + aw - 52, cy + 4, pct(a), 'class="value"');
      s += '<rect class="track" x="' + px0 + '" y="' + (top + 8) + '" width="' + (pw - 10) + '" height="' + (rowH - 16) + '"></rect>';
      if (isNum(p))
        s += '<rect x="' + px0 + '" y="' + (top + 8) + '" width="' + f1(Math.max(2, px(p) - px0)) + '" height="' + (rowH - 16) +
          '" rx="3" fill="' + PA + '"><title>' + esc(sc.name + ": " + num(sc.persistent_absentees) + " persistent absentees, " +
          pct(p)) + "</title></rect>";
      s += txt(px(isNum(p) ? p : 0) + 8, cy + 4, pct(p), 'class="value"');
    });
    s += "</svg>";
    var leg = legend([{ key: "good", label: "At or above its target" }, { key: "bad", label: "Below its target" },
      { dash: true, label: "The school's target" }, { key: "pa", label: "Persistent absentees" }]);
    return figure(id, "", "Each school of the " + kind + ", lowest attendance first. Select a name for its own page.", s, leg, "");
  }

  /* ---- page parts ---- */

  function kpi(id, label, value, sub, cls) {
    return '<li class="kpi ' + (cls || "") + '" id="' + id + '"><span class="label">' + esc(label) + '</span><span class="value">' +
      esc(value) + '</span><span class="sub">' + esc(sub) + "</span></li>";
  }
  function kpis(m, target, extra) {
    var a = m.attendance_pct,
      paPct = share(m.persistent_absentees, m.pupils),
      saPct = share(m.severe_absentees, m.pupils);
    var cls = isNum(target) && isNum(a) ? (a >= target ? "good" : a >= target - 2 ? "warn" : "bad") : "";
    return '<ul class="kpis">' + (extra || "") +
      kpi("kpi-attendance", "Attendance", pct(a), isNum(target) ? "target " + pct(target) : "no single target", cls) +
      kpi("kpi-pupils", "Pupils", num(m.pupils), num(m.possible_sessions) + " possible sessions") +
      kpi("kpi-pa", "Persistent absentees", num(m.persistent_absentees), pct(paPct) + " of pupils",
        isNum(paPct) && paPct >= 15 ? "bad" : "warn") +
      kpi("kpi-sa", "Severe absentees", num(m.severe_absentees), pct(saPct) + " of pupils", m.severe_absentees ? "bad" : "good") +
      kpi("kpi-unauth", "Unauthorised absences", num(m.unauthorised_absences),
        pct(share(m.unauthorised_absences, m.possible_sessions)) + " of sessions", "") +
      "</ul>";
  }
  function card(title, body, extraHead) {
    return '<section class="card"><h2><span>' + esc(title) + "</span>" + (extraHead || "") + "</h2>" + body + "</section>";
  }

  /* A working list: its card now, its rows when they come. */
  function listCard(spec) {
    return '<section class="card" id="' + spec.id + '"><h2><span>' + esc(spec.title) +
      '</span><span class="count"></span></h2><div class="listbody"><p class="loading">Loading\u2026</p></div></section>';
  }
  function loadList(spec) {
    var el = $(spec.id),
      sep = spec.path.indexOf("?") >= 0 ? "&" : "?";
    return api(spec.path + sep + "limit=" + LIST_ROWS)
      .then(function (r) {
        var rows = Array.isArray(r.json) ? r.json : [],
          total = isNum(r.total) ? r.total : rows.length;
        el.querySelector(".count").textContent = total > rows.length ? "first " + rows.length + " of " + num(total) : num(total) + " in all";
        var head = spec.columns.map(function (c) {
          return '<th scope="col"' + (c.num ? ' class="num"' : "") + ">" + esc(c.head) + "</th>";
        }).join("");
        var body = rows.map(function (row) {
          return "<tr" + (spec.rowClass ? ' class="' + spec.rowClass(row) + '"' : "") + ">" + spec.columns.map(function (c) {
            var v = c.get(row);
            return (c.num ? '<td class="num">' : "<td>") + (c.html ? v : esc(v)) + "</td>";
          }).join("") + "</tr>";
        }).join("");
        var csv = spec.path + sep + "format=csv";
        el.querySelector(".listbody").innerHTML =
          (spec.note ? '<p class="note">' + esc(spec.note) + "</p>" : "") +
          (rows.length ? '<div class="tablewrap"><table><thead><tr>' + head + "</tr></thead><tbody>" + body + "</tbody></table></div>"
            : '<p class="empty">' + esc(spec.empty) + "</p>") +
          '<p><button type="button" data-csv="' + esc(csv) + '" data-file="' + esc(spec.file) + '">Download CSV (every row)</button> ' +
          '<span class="csvnote note" role="status"></span></p>';
      })
      .catch(function (e) {
        if (e.status === 401) return unauthorised(e);
        el.querySelector(".listbody").innerHTML = '<p class="problem">Could not load this list: ' + esc(e.message) + "</p>";
      });
  }
  function stagesText(st) {
    return Object.keys(st || {}).filter(function (k) {
      return st[k];
    }).map(function (k) {
      return human(k) + ": " + human(st[k]);
    }).join("; ");
  }

  function schoolLists(urn) {
    var base = "/v1/schools/" + enc(urn);
    return [
      {
        id: "list-pa", title: "Persistent absentees", path: base + "/pupils?pa=1", file: "persistent-absentees-" + urn + ".csv",
        empty: "No persistent absentees.", note: "Lowest attendance first.",
        columns: [
          { head: "Pupil", get: pupilName }, { head: "UPN", get: function (r) { return r.upn; } },
          { head: "Year", get: function (r) { return yearName(r.year_group); } },
          { head: "Attendance %", num: true, get: function (r) { return pctBare(r.attendance_pct); } },
          { head: "Unauthorised", num: true, get: function (r) { return num(r.unauthorised_absences); } },
          { head: "Band", html: true, get: function (r) { return bandTag(r.band); } },
          { head: "Stages", get: function (r) { return stagesText(r.stages); } },
        ],
      },
      {
        id: "list-reviews", title: "Reviews due in the next 7 days", path: base + "/reviews?within_days=7",
        file: "reviews-" + urn + ".csv", empty: "No reviews due.",
        rowClass: function (r) { return r.overdue ? "overdue" : ""; },
        columns: [
          { head: "Pupil", get: pupilName }, { head: "UPN", get: function (r) { return r.upn; } },
          { head: "Track", get: function (r) { return human(r.track); } },
          { head: "Stage", get: function (r) { return human(r.stage); } },
          { head: "Review date", get: function (r) { return dateLong(r.review_date); } },
          { head: "Overdue", get: function (r) { return r.overdue ? "Overdue" : ""; } },
        ],
      },
      {
        id: "list-fda", title: "First-day absences today", path: base + "/first-day-absences",
        file: "first-day-absences-" + urn + ".csv", empty: "No first-day absences today.",
        columns: [
          { head: "Pupil", get: pupilName }, { head: "UPN", get: function (r) { return r.upn; } },
          { head: "Year", get: function (r) { return yearName(r.year_group); } },
          { head: "Session", get: function (r) { return r.session; } },
          { head: "Reason", get: function (r) { return r.reason; } },
          { head: "Messages", get: function (r) {
            return (r.messages || []).map(function (m) { return m.channel + " " + m.status; }).join(", ") || "none";
          } },
        ],
      },
      {
        id: "list-referrals", title: "Referrals", path: base + "/referrals", file: "referrals-" + urn + ".csv",
        empty: "No referrals.",
        columns: [
          { head: "Date", get: function (r) { return dateLong(r.date); } },
          { head: "UPN", get: function (r) { return r.upn; } },
          { head: "Kind", get: function (r) { return kindName(r.kind); } },
          { head: "Reason", get: function (r) { return r.reason; } },
        ],
      },
    ];
  }
  function laLists(code) {
    return [{
      id: "list-referrals", title: "Referrals to the LA", path: "/v1/la/" + enc(code) + "/referrals",
      file: "la-referrals-" + code + ".csv", empty: "No referrals.", note: "Newest first.",
      columns: [
        { head: "Date", get: function (r) { return dateLong(r.date); } },
        { head: "School", get: function (r) { return r.school_name || r.urn; } },
        { head: "UPN", get: function (r) { return r.upn; } },
        { head: "Kind", get: function (r) { return kindName(r.kind); } },
        { head: "Reason", get: function (r) { return r.reason; } },
      ],
    }];
  }

  /* ---- pages ---- */

  function setNav(links) {
    $("nav").innerHTML = links.map(function (l) {
      return '<a href="' + esc(l[0]) + '">' + esc(l[1]) + "</a>";
    }).join("") + '<button type="button" id="signout">Forget the token</button>';
    $("signout").addEventListener("click", function () {
      storeToken(null);
      token = null;
      askToken("The token is forgotten in this tab.");
    });
  }

  function schoolPage(urn) {
    return api("/v1/schools/" + enc(urn) + "/summary").then(function (r) {
      var s = r.json,
        t = s.target_pct;
      document.title = s.name + " - attendance - Rollcall";
      $("title").textContent = s.name;
      $("subtitle").textContent = "School \u00b7 URN " + s.urn + " \u00b7 LA " + s.la_code +
        (s.trust_id ? " \u00b7 trust " + s.trust_id : "") + " \u00b7 figures as of " + dateLong(s.as_of);
      var nav = [];
      if (s.trust_id) nav.push(["/dashboard/trust/" + enc(s.trust_id), "Trust " + s.trust_id]);
      if (s.la_code) nav.push(["/dashboard/la/" + enc(s.la_code), "LA " + s.la_code]);
      setNav(nav);
      var lists = schoolLists(urn);
      $("content").innerHTML =
        kpis(s, t) +
        card("Weekly attendance against the target", weeklyChart("chart-weekly", s.weekly, t)) +
        '<div class="grid">' + card("Attendance bands", bandsChart("chart-bands", s.bands, s.pupils)) +
        card("Cohorts", cohortChart("chart-cohorts", s, t)) + "</div>" +
        '<div class="grid">' + card("Stage funnel", stagesChart("chart-stages", s.stages)) +
        card("Year groups", yearChart("chart-years", s.by_year_group, t)) + "</div>" +
        '<h2 class="section">Working lists</h2>' + listCard(lists[0]) +
        '<div class="grid">' + listCard(lists[1]) + listCard(lists[2]) + "</div>" + listCard(lists[3]);
      $("status").innerHTML = "";
      return Promise.all(lists.map(loadList));
    });
  }

  /* schoolStages: each school's funnels side by side (schools may run
   * different policies, whose stages do not add up). */
  function schoolStages(id, schools) {
    var rows = [],
      cells = schools.slice().sort(function (a, b) {
        return String(a.name).localeCompare(String(b.name));
      }).map(function (s) {
        var busy = {};
        Object.keys(s.stages || {}).forEach(function (t) {
          if (stageOrder(Object.keys(s.stages[t])).length) busy[t] = s.stages[t];
        });
        var part = stagesChart(id, busy, true);
        part.rows.forEach(function (r) {
          rows.push([s.name].concat(r));
        });
        return '<div class="school-stages"><h3 class="school">' + esc(s.name) + "</h3>" +
          (Object.keys(busy).length ? part.body : '<p class="empty">No pupil is on a stage.</p>') + "</div>";
      });
    return figure(id, "", "Pupils on each stage of each track, school by school (schools may follow different " +
      "policies; tracks with nobody on a stage are left out).", '<div class="stagegrid">' + cells.join("") + "</div>", "",
      table(["School", "Track", "Stage", "Pupils"], rows, [3]));
  }

  function groupPage(kind, id) {
    var path = kind === "trust" ? "/v1/trusts/" + enc(id) + "/summary" : "/v1/la/" + enc(id) + "/summary";
    var what = kind === "trust" ? "trust" : "local authority";
    return api(path).then(function (r) {
      var g = r.json,
        schools = g.schools || [],
        m = g.total || {};
      var targets = schools.map(function (s) {
        return s.target_pct;
      });
      var common = targets.length && targets.every(function (x) {
        return isNum(x) && x === targets[0];
      }) ? targets[0] : null;
      var asOf = schools.map(function (s) {
        return s.as_of;
      }).filter(Boolean).sort().pop();
      var name = kind === "trust" ? "Trust " + id : "Local authority " + id;
      document.title = name + " - attendance - Rollcall";
      $("title").textContent = name;
      $("subtitle").textContent = num(schools.length) + (schools.length === 1 ? " school" : " schools") +
        " \u00b7 figures as of " + dateLong(asOf);
      var links = {};
      schools.forEach(function (s) {
        if (kind === "trust" && s.la_code) links["/dashboard/la/" + enc(s.la_code)] = "LA " + s.la_code;
        if (kind === "la" && s.trust_id) links["/dashboard/trust/" + enc(s.trust_id)] = "Trust " + s.trust_id;
      });
      setNav(Object.keys(links).sort().map(function (k) {
        return [k, links[k]];
      }));
      var schoolRows = schools.slice().sort(function (a, b) {
        return String(a.name).localeCompare(String(b.name));
      }).map(function (s) {
        return "<tr><td><a href=\"/dashboard/school/" + esc(enc(s.urn)) + "\">" + esc(s.name) + "</a></td><td>" + esc(s.urn) +
          '</td><td class="num">' + esc(num(s.pupils)) + '</td><td class="num">' + esc(pctBare(s.attendance_pct)) +
          '</td><td class="num">' + esc(pctBare(s.target_pct)) + '</td><td class="num">' + esc(num(s.persistent_absentees)) +
          '</td><td class="num">' + esc(pctBare(share(s.persistent_absentees, s.pupils))) + '</td><td class="num">' +
          esc(num(s.severe_absentees)) + '</td><td class="num">' + esc(num(s.unauthorised_absences)) + "</td></tr>";
      }).join("");
      var schoolTable = '<div class="tablewrap"><table id="schools-table"><thead><tr><th scope="col">School</th><th scope="col">URN</th>' +
        '<th scope="col" class="num">Pupils</th><th scope="col" class="num">Attendance %</th><th scope="col" class="num">Target %</th>' +
        '<th scope="col" class="num">Persistent absentees</th><th scope="col" class="num">PA %</th>' +
        '<th scope="col" class="num">Severe absentees</th><th scope="col" class="num">Unauthorised absences</th></tr></thead><tbody>' +
        schoolRows + "</tbody></table></div>";
      var lists = kind === "la" ? laLists(id) : [];
      $("content").innerHTML =
        kpis(m, common, kpi("kpi-schools", "Schools", num(schools.length), "in this " + what)) +
        card("Schools compared", schoolsChart("chart-schools", schools, what, common)) +
        card("Weekly attendance" + (isNum(common) ? " against the target" : ""), weeklyChart("chart-weekly", m.weekly, common,
          "every school together" + (isNum(common) || !schools.length ? "" : "; the schools' targets differ"))) +
        '<div class="grid">' + card("Attendance bands", bandsChart("chart-bands", m.bands, m.pupils)) +
        card("Cohorts", cohortChart("chart-cohorts", m, common)) + "</div>" +
        card("Year groups", yearChart("chart-years", m.by_year_group, common, 1100)) +
        card("Stage funnels", schoolStages("chart-stages", schools)) +
        card("Schools", schoolTable) +
        lists.map(listCard).join("");
      $("status").innerHTML = "";
      return Promise.all(lists.map(loadList));
    });
  }

  function unauthorised(e) {
    storeToken(null);
    token = null;
    askToken("The server did not accept the token (" + e.message + "). Paste another.");
  }

  function start() {
    var m = /^\/dashboard\/(school|trust|la)\/([^/]+)$/.exec(location.pathname);
    token = takeToken();
    if (!m) {
      $("status").innerHTML = '<p class="problem">This address is not a dashboard page.</p>';
      return;
    }
    if (!token) {
      askToken("");
      return;
    }
    $("status").innerHTML = '<p class="loading">Loading\u2026</p>';
    $("content").innerHTML = "";
    var id = decodeURIComponent(m[2]);
    var page = m[1] === "school" ? schoolPage(id) : groupPage(m[1], id);
    page.catch(function (e) {
      if (e.status === 401) return unauthorised(e);
      var why = e.status === 403 ? "This token may not read this " + (m[1] === "la" ? "local authority" : m[1]) + "."
        : e.status === 404 ? "There is no such " + (m[1] === "la" ? "local authority" : m[1]) + " (" + e.message + ")."
          : "Could not load the dashboard: " + (e.message || String(e));
      $("status").innerHTML = '<p class="problem">' + esc(why) + "</p>";
    });
  }

  $("content").addEventListener("click", function (e) {
    var b = e.target.closest && e.target.closest("button[data-csv]");
    if (b) downloadCsv(b);
  });
  start();
})();
