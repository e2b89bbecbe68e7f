#!/usr/bin/env bash
# gen-year.sh - write a trust's school year for replay into DIR: schools.csv,
# calendar.csv, pupils.csv, contacts.csv (SPEC section 4) and replay.txt, the
# register in arrival order with the replay clock moving (docs/replay.md).
#
# Usage: scripts/gen-year.sh DIR [--schools N] [--pupils M]
#                            [--from YYYY-MM-DD] [--to YYYY-MM-DD]
#
# Defaults: 3 schools (URN 100201 on) in LA 909, trust SMALL-TRUST, running
# the policies 004_hcat, 001_attendance_process and 002_lowther in turn, 30
# pupils each, the 2025-26 year (2025-09-01 to 2026-08-31). The calendar is
# the 2025-26 one of tests/fixture_calendar.h; marks fall on its open
# sessions only. --from/--to only cut what is written: the pupils, their
# stories and every mark inside the range are the same whatever the range,
# so a fortnight is the first fortnight of the full year.
#
# Deterministic: the same arguments give the same bytes on every run and
# every machine (the random draws are a hash of school, pupil, day and
# purpose in plain double arithmetic, not awk's rand()).
set -euo pipefail

usage() {
  sed -n '6,7p' "$0" | sed 's/^# \{0,1\}//' >&2
  echo "Try 'scripts/gen-year.sh --help'." >&2
  exit 2
}

dir=""
schools=3
pupils=30
from=2025-09-01
to=2026-08-31
while [ $# -gt 0 ]; do
  case "$1" in
    --schools | --pupils | --from | --to)
      [ $# -ge 2 ] || { echo "gen-year: $1 needs a value" >&2; exit 2; }
      case "$1" in
        --schools) schools=$2 ;;
        --pupils) pupils=$2 ;;
        --from) from=$2 ;;
        --to) to=$2 ;;
      esac
      shift 2
      ;;
    --schools=* | --pupils=* | --from=* | --to=*)
      v=${1#*=}
      case "$1" in
        --schools=*) schools=$v ;;
        --pupils=*) pupils=$v ;;
        --from=*) from=$v ;;
        --to=*) to=$v ;;
      esac
      shift
      ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "gen-year: unknown option '$1'" >&2; usage ;;
    *)
      [ -z "$dir" ] || { echo "gen-year: unexpected argument '$1'" >&2; usage; }
      dir=$1
      shift
      ;;
  esac
done
[ -n "$dir" ] || usage
if ! [[ $schools =~ ^[0-9]{1,3}$ ]] || ((10#$schools < 1)); then
  echo "gen-year: --schools must be 1 to 999, not '$schools'" >&2
  exit 2
fi
if ! [[ $pupils =~ ^[0-9]{1,4}$ ]] || ((10#$pupils < 1)); then
  echo "gen-year: --pupils must be 1 to 9999, not '$pupils'" >&2
  exit 2
fi
for d in "$from" "$to"; do
  [[ $d =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ ]] ||
    { echo "gen-year: dates are YYYY-MM-DD, not '$d'" >&2; exit 2; }
done
[[ ! $from > $to ]] || { echo "gen-year: --from $from is after --to $to" >&2; exit 2; }
mkdir -p "$dir"

LC_ALL=C awk -v dir="$dir" -v nschools="$((10#$schools))" -v npupils="$((10#$pupils))" \
  -v from="$from" -v to="$to" '
# ---- dates: day numbers since 1970-01-01 (H. Hinnant, "chrono-compatible
# low-level date algorithms"), all in whole numbers ----
function days(y, m, d,   era, yoe, doy) {
  y -= (m <= 2); era = int(y / 400); yoe = y - era * 400
  doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
  return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
}
function civil(z,   era, doe, yoe, doy, mp) {  # sets Y, M, D
  z += 719468; era = int(z / 146097); doe = z - era * 146097
  yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
  doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100)); mp = int((5 * doy + 2) / 153)
  D = doy - int((153 * mp + 2) / 5) + 1; M = mp < 10 ? mp + 3 : mp - 9; Y = yoe + era * 400 + (M <= 2)
}
function ds(z) { civil(z); return sprintf("%04d-%02d-%02d", Y, M, D) }
function parse(s,   z) {  # "YYYY-MM-DD" -> day number, or -1 when no such day
  z = days(substr(s, 1, 4) + 0, substr(s, 6, 2) + 0, substr(s, 9, 2) + 0)
  return ds(z) == s ? z : -1
}
function weekday(z) { return (z + 3) % 7 }  # 0 Monday .. 6 Sunday
function last_sunday(y, m,   z) { z = days(y, m, 31); return z - (weekday(z) + 1) % 7 }
# UK civil time: BST (+01:00) from the last Sunday of March to the last
# Sunday of October; school hours never meet the 01:00 UTC change itself.
function offset(z) {
  civil(z)
  return (z >= last_sunday(Y, 3) && z < last_sunday(Y, 10)) ? "+01:00" : "+00:00"
}
function at(z, secs) {  # local instant on day z, secs after midnight
  return sprintf("%sT%02d:%02d:%02d%s", ds(z), int(secs / 3600), int(secs / 60) % 60, secs % 60, offset(z))
}

# ---- randomness: a hash of four whole numbers to [0, 1), the same in every awk ----
function rnd(a, b, c, d,   x) {
  x = (a * 7919 + b * 104729 + c * 15485 + d * 99991 + 12345) % 67108859
  x = (x * x + 40503) % 67108859
  x = (x * 48271) % 2147483647 % 67108859
  x = (x * x + 93911) % 67108859
  x = (x * 48271) % 2147483647
  return x / 2147483647
}
function pick(a, b, c, d, lo, hi) { return lo + int(rnd(a, b, c, d) * (hi - lo + 1)) }

# ---- the calendar (tests/fixture_calendar.h, 2025-26) ----
function is_open(z, sess,   i) {
  if (weekday(z) >= 5) return 0
  for (i = 1; i <= nterm; i++)
    if (z >= tf[i] && z <= tt[i]) break
  if (i > nterm) return 0
  for (i = 1; i <= nclos; i++)
    if (z >= cf[i] && z <= ct[i] && (cs[i] == "ALL" || cs[i] == sess)) return 0
  return 1
}

# ---- output ----
# A row arrives at secs (local) on the day being written; rows are
# bucketed by minute and written in arrival order at the end of the day.
function arrive(secs, text,   m) {
  if (!live) return
  if (secs >= 16 * 3600) secs = 16 * 3600 - 1
  m = int(secs / 60); bn[m]++; bk[m, bn[m]] = text; nmarks++
}
# mark: the row for session sess of day z, recorded at rsecs on day zr.
function mark2(s, p, z, sess, code, late, zr, rsecs) {
  return urn[s] "," upn[s, p] "," ds(z) "," sess "," code "," late "," at(zr, rsecs)
}
function mark(s, p, z, sess, code, late, rsecs) { return mark2(s, p, z, sess, code, late, z, rsecs) }
function flush_day(z,   m, k) {
  if (!live) return
  print "# " ds(z) " " wdname[weekday(z)] ", school day " (idx + 1) > rf
  for (m = 0; m < 1440; m++) {
    if (m == 570) { print "@" at(z, 9 * 3600 + 30 * 60) > rf; nclock++ }
    if (m == 960) { print "@" at(z, 16 * 3600) > rf; nclock++ }
    for (k = 1; k <= bn[m]; k++) { print bk[m, k] > rf; delete bk[m, k] }
    delete bn[m]
  }
}
# later: a row for an earlier day zold arriving at secs today (z): recorded
# now (old < 0: a recode, which wins) or at old seconds on day zold (a late
# sync of an older reading, which loses). It goes out only when zold is
# inside the range too, so the version it meets was sent.
function later(secs, s, p, zold, sess, code, late, old) {
  if (zold < F) return
  if (old < 0) arrive(secs, mark2(s, p, zold, sess, code, late, z, secs))
  else arrive(secs, mark2(s, p, zold, sess, code, late, zold, old))
}
function schedule(k, s, p, zold, sess, code) {  # recode (s,p,zold,sess) to code on school day k
  pn[k]++; pq[k, pn[k]] = s SUBSEP p SUBSEP zold SUBSEP sess SUBSEP code
}

# ---- one pupil on one school day ----
function reg_am(s, p) { return 8 * 3600 + 45 * 60 + ((p - 1) % 30) * 10 + ((s - 1) % 4) * 60 }
function reg_pm(s, p) { return 13 * 3600 + 15 * 60 + ((p - 1) % 30) * 10 + ((s - 1) % 4) * 60 }
function early(s, p, z, k) { return pick(s, p, z, k, 8 * 3600 + 55 * 60, 9 * 3600 + 29 * 60) }  # before 09:30
function late_call(s, p, z, k) { return pick(s, p, z, k, 9 * 3600 + 35 * 60, 11 * 3600 + 59 * 60) }
function in_win(s, p, who, first, len,   sh) {  # in scenario window [first, first+len) of pupil who
  sh = 5 * ((s - 1) % 4)
  return p == who && idx >= first + sh && idx < first + sh + len
}
function absence_rate(s, p) {
  if (p == 3) return 0.58        # severe absence
  if (p == 5) return 0.12        # persistent absentees
  if (p == 6) return 0.16
  if (p == 1 || p == 7) return 0.04
  if (p == 9) return 0.03
  return 0.004 + 0.02 * rnd(s, p, 0, 7)  # 95-99.5%
}

function pupil_day(s, p, z, pmo,   ra, rp, am1, am, pm, t, code, m, kind, r, d, j, zz, amrow) {
  ra = reg_am(s, p); rp = reg_pm(s, p)
  am = "/"; pm = "\\"; am1 = ""; kind = ""
  if (in_win(s, p, 1, 3, 14)) kind = "cme"
  else if (in_win(s, p, 2, 30, 16)) kind = (idx == 30 + 5 * ((s - 1) % 4)) ? "ill1" : "ill"
  else if (in_win(s, p, 4, 95, 22)) kind = "orun"
  else if (in_win(s, p, 8, 150, 7)) kind = "hol"
  else if (ill[s, p] && rnd(s, p, z, 2) < 0.45) kind = "illcont"
  else if (rnd(s, p, z, 1) < absence_rate(s, p)) {
    r = rnd(s, p, z, 3)
    if (p == 9) kind = "appt"
    else if (p == 3) kind = r < 0.75 ? "unexpl" : "latecall"
    else if (p == 5 || p == 6) kind = r < 0.3 ? "earlycall" : r < 0.5 ? "latecall" : r < 0.55 ? "appt" : "unexpl"
    else kind = r < 0.45 ? "earlycall" : r < 0.75 ? "latecall" : r < 0.85 ? "appt" : "unexpl"
  }
  ill[s, p] = (kind == "ill1" || kind == "ill" || kind == "illcont" || kind == "earlycall" || kind == "latecall")

  if (kind == "") {  # in school; some late
    r = rnd(s, p, z, 4)
    if ((p == 7 && r < 0.18) || (p == 6 && r < 0.06) || (p > 9 && r < 0.012)) {
      m = pick(s, p, z, 5, 5, 28)
      am1 = "N"; am = "L"; t = 8 * 3600 + 50 * 60 + m * 60 + pick(s, p, z, 6, 0, 59)
      arrive(t, mark(s, p, z, "AM", "L", m, t))
    } else if ((p == 7 && r < 0.23) || (p > 9 && r < 0.015)) {
      m = pick(s, p, z, 5, 45, 75)
      am1 = "N"; am = "U"; t = 8 * 3600 + 50 * 60 + m * 60 + pick(s, p, z, 6, 0, 59)
      arrive(t, mark(s, p, z, "AM", "U", m, t))
    }
  } else if (kind == "cme") {  # nobody rings, nobody comes: the CME story
    am = pm = "N"
  } else if (kind == "ill1") {  # the first of 16 days ill: the parent rings before 09:30
    am1 = "N"; am = pm = "I"; t = early(s, p, z, 8)
    arrive(t, mark(s, p, z, "AM", "I", "", t))
  } else if (kind == "ill" || (kind == "illcont" && rnd(s, p, z, 8) < 0.6)) {
    am = pm = "I"  # the school was told yesterday
  } else if (kind == "illcont" || kind == "earlycall") {
    am1 = "N"; am = pm = "I"; t = early(s, p, z, 8)
    arrive(t, mark(s, p, z, "AM", "I", "", t))
  } else if (kind == "latecall") {  # the first-day text has gone out at 09:30
    am1 = "N"; am = pm = "I"; t = late_call(s, p, z, 8)
    arrive(t, mark(s, p, z, "AM", "I", "", t))
  } else if (kind == "appt") {  # a morning appointment, back for the afternoon
    am1 = "N"; am = "M"; t = rnd(s, p, z, 9) < 0.6 ? early(s, p, z, 8) : late_call(s, p, z, 8)
    arrive(t, mark(s, p, z, "AM", "M", "", t))
  } else if (kind == "unexpl") {  # no reason given: recoded a few school days later
    am = pm = "N"
    code = (p == 3 || p == 5 || p == 6 || rnd(s, p, z, 10) < 0.5) ? "O" : "I"
    d = (code == "O") ? 3 : 2
    schedule(idx + d, s, p, z, "AM", code)
    if (pmo) schedule(idx + d, s, p, z, "PM", code)
  } else if (kind == "hol") {  # a term-time holiday the school refused
    am = pm = "G"
  } else if (kind == "orun") {  # gone for weeks: N twice, then O from day 3
    d = idx - (95 + 5 * ((s - 1) % 4)) + 1
    if (d <= 2) am = pm = "N"
    else if (d > 3) am = pm = "O"
    else {
      am1 = "N"; am = pm = "O"; t = 11 * 3600 + pick(s, p, z, 11, 0, 3599)
      arrive(t, mark(s, p, z, "AM", "O", "", t))
      for (j = 1; j <= 2; j++) {
        zz = dayz[idx - j]
        later(t, s, p, zz, "AM", "O", "", -1)
        if (pmopen[idx - j]) later(t, s, p, zz, "PM", "O", "", -1)
      }
    }
  }

  # The registers: AM at ~08:50 (its first version), PM at ~13:20.
  amrow = mark(s, p, z, "AM", am1 != "" ? am1 : am, "", ra)
  arrive(ra, amrow)
  if (pmo) arrive(rp, mark(s, p, z, "PM", pm, "", rp))

  # The MIS sends some of the morning register again: exact duplicates.
  if (rnd(s, p, z, 12) < 0.03)
    arrive(pick(s, p, z, 13, 15 * 3600, 15 * 3600 + 50 * 60), amrow)
  # A classroom tablet syncs an older reading of this morning: it must lose.
  if (rnd(s, p, z, 14) < 0.015) {
    code = (am == "/" || am == "L" || am == "U") ? "N" : "/"
    arrive(pick(s, p, z, 15, 14 * 3600, 14 * 3600 + 50 * 60), mark(s, p, z, "AM", code, "", ra - 120))
  }
  # On Mondays a tablet left off since the last school day syncs its
  # afternoon register, older than what the office holds: it must lose.
  if (weekday(z) == 0 && lastpm[s, p] != "" && rnd(s, p, z, 16) < 0.02) {
    split(lastpm[s, p], lp, SUBSEP)
    later(pick(s, p, z, 17, 10 * 3600, 10 * 3600 + 50 * 60), s, p, lp[1] + 0, "PM",
          lp[2] == "\\" ? "N" : "\\", "", rp - 120)
  }
  lastpm[s, p] = pmo ? z SUBSEP pm : ""
}

BEGIN {
  F = parse(from); T = parse(to)
  if (F < 0 || T < 0) { print "gen-year: no such date: " (F < 0 ? from : to) > "/dev/stderr"; exit 2 }
  split("Mon Tue Wed Thu Fri Sat Sun", wn, " ")
  for (i = 0; i < 7; i++) wdname[i] = wn[i + 1]
  nterm = split("2025-09-03:2025-12-19 2026-01-05:2026-03-27 2026-04-13:2026-07-22", terms, " ")
  for (i = 1; i <= nterm; i++) { split(terms[i], a, ":"); tf[i] = parse(a[1]); tt[i] = parse(a[2]) }
  nclos = split("2025-10-27:2025-10-31:ALL 2026-02-16:2026-02-20:ALL 2026-05-04:2026-05-04:ALL " \
                "2026-05-25:2026-05-29:ALL 2026-06-26:2026-06-26:ALL 2026-03-27:2026-03-27:PM", clos, " ")
  for (i = 1; i <= nclos; i++) {
    split(clos[i], a, ":"); cf[i] = parse(a[1]); ct[i] = parse(a[2]); cs[i] = a[3]; cfs[i] = a[1]; cts[i] = a[2]
  }

  split("004_hcat 001_attendance_process 002_lowther", policy, " ")
  split("Castle Hill Academy|Beckside Primary|Lowther Endowed School|Millbrook Academy|" \
        "Fellgate Primary|Riverside Academy|Thornton Primary|Eskdale Primary|Holme Valley Academy", sname, "|")
  split("Amara Ben Chloe Daniel Eliza Felix Grace Harun Isla Jacob Kai Leah Mason Nadia Oscar Priya " \
        "Reuben Sofia Theo Uma Victor Willow Yusuf Zara", fore, " ")
  split("Ahmed Brown Clarke Davies Evans Fletcher Green Hussain Iqbal Jackson Kowalski Lewis Mistry " \
        "Nowak Owen Patel Quinn Roberts Singh Turner", sur, " ")
  split("Amina Beth Claire Dana Emma Fatima Gemma Hannah Imogen Joanne Katie Laura", mum, " ")
  split("Adam Craig David Ewan Farid Gareth Hamza Ian James Kevin Liam Mark", dad, " ")
  alpha = "ABCDEFGHJKLMNPQRTUVWXYZ"

  f = dir "/schools.csv"
  print "urn,name,la_code,trust_id,policy,phone" > f
  for (s = 1; s <= nschools; s++) {
    urn[s] = 100200 + s
    secondary[s] = ((s - 1) % 3 == 0)  # the 004_hcat schools are secondaries
    name = sname[(s - 1) % 9 + 1] (s > 9 ? " " int((s - 1) / 9 + 1) : "")
    printf "%s,%s,909,SMALL-TRUST,%s,01632 960%03d\n", urn[s], name, policy[(s - 1) % 3 + 1],
           s % 1000 > f
  }
  close(f)

  f = dir "/calendar.csv"
  print "urn,kind,from,to,session" > f
  for (s = 1; s <= nschools; s++) {
    for (i = 1; i <= nterm; i++) { split(terms[i], a, ":"); printf "%s,term,%s,%s,\n", urn[s], a[1], a[2] > f }
    for (i = 1; i <= nclos; i++) printf "%s,closure,%s,%s,%s\n", urn[s], cfs[i], cts[i], cs[i] > f
  }
  close(f)

  fp = dir "/pupils.csv"; fc = dir "/contacts.csv"
  print "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,on_roll_to,sen,fsm,eal,cla,social_worker" > fp
  print "upn,contact_id,name,relationship,parental_responsibility,mobile,email,priority" > fc
  Y0 = parse("2025-09-01"); Y1 = parse("2026-08-31")
  for (s = 1; s <= nschools; s++) {
    for (p = 1; p <= npupils; p++) {
      n = (s - 1) * npupils + p
      digits = sprintf("909%03d25%04d", s, p)
      sum = 0
      for (i = 1; i <= 12; i++) sum += substr(digits, i, 1) * (i + 1)
      upn[s, p] = substr(alpha, sum % 23 + 1, 1) digits
      yg = secondary[s] ? 7 + (p - 1) % 5 : 1 + (p - 1) % 6
      mi = pick(s, p, 0, 20, 0, 11)  # born September (0) to August (11) of their year
      by = (mi < 4 ? 2020 : 2021) - yg
      rollfrom[s, p] = Y0; rollto[s, p] = Y1 + 1; rt = ""
      if (npupils >= 20 && p == npupils) rollfrom[s, p] = parse("2026-01-05")   # joins in January
      if (npupils >= 20 && p == npupils - 1) { rt = "2026-02-13"; rollto[s, p] = parse(rt) }  # leaves at February half term
      cla = (p == 3 || p % 29 == 17) ? "Y" : "N"
      sw = (p == 1 || p == 3 || p == 9 || p % 29 == 17) ? "Y" : "N"
      fn = fore[(n * 7) % 24 + 1]; sn = sur[(n * 3 + s) % 20 + 1]
      printf "%s,%s,%s,%s,%d,%04d-%02d-%02d,%s,%s,%s,%s,%s,%s,%s\n", urn[s], upn[s, p], fn, sn, yg,
             by, (mi + 8) % 12 + 1, pick(s, p, 0, 21, 1, 28), ds(rollfrom[s, p]), rt,
             rnd(s, p, 0, 22) < 0.15 ? "Y" : "N", rnd(s, p, 0, 23) < 0.25 ? "Y" : "N",
             rnd(s, p, 0, 24) < 0.15 ? "Y" : "N", cla, sw > fp
      printf "%s,%s-1,%s %s,mother,Y,07700 900%03d,parent.a.%d@example.org,1\n",
             upn[s, p], upn[s, p], mum[(n * 5 + 3) % 12 + 1], sn, n % 1000, n > fc
      printf "%s,%s-2,%s %s,father,Y,+44 7700 900%03d,parent.b.%d@example.org,2\n",
             upn[s, p], upn[s, p], dad[(n * 7 + 5) % 12 + 1], sn, (n + 500) % 1000, n > fc
      if (cla == "Y")
        printf "%s,%s-3,Foster carer %s,foster_carer,N,07700 900%03d,foster.%d@example.org,3\n",
               upn[s, p], upn[s, p], sur[(n + 7) % 20 + 1], (n + 250) % 1000, n > fc
      else if (p % 4 == 0)
        printf "%s,%s-3,Grandparent %s,grandparent,N,07700 900%03d,,3\n",
               upn[s, p], upn[s, p], sn, (n + 250) % 1000 > fc
      if (sw == "Y")  # told of unexplained absence, by email, beside the parents
        printf "%s,%s-4,Social worker (LA 909),social worker,N,,social.worker.%d@example.org,4\n",
               upn[s, p], upn[s, p], n > fc
    }
  }
  close(fp); close(fc)

  # The school days of the year, numbered from 0.
  nd = 0
  for (z = Y0; z <= Y1; z++) {
    if (!is_open(z, "AM") && !is_open(z, "PM")) continue
    dayz[nd] = z; pmopen[nd] = is_open(z, "PM"); nd++
  }

  rf = dir "/replay.txt"
  print "urn,upn,date,session,code,minutes_late,recorded_at" > rf
  printf "# scripts/gen-year.sh: %d school(s) of %d pupils, %s to %s (docs/replay.md)\n",
         nschools, npupils, from, to > rf
  print "# The stories each school tells (school N shifts them 5 school days later per N-1, up to 15):" > rf
  print "#   pupil 1   unexplained absence (N, nobody rings) for 14 school days from day 4: CME" > rf
  print "#   pupil 2   ill (I) for 16 school days from day 31" > rf
  print "#   pupil 3   severe absence (about 58% of days), mostly N recoded O" > rf
  print "#   pupil 4   N for 2 days, then O: 22 school days in a row from day 96" > rf
  print "#   pupil 5,6 persistent absence (12% and 16% of days); 6 is often late" > rf
  print "#   pupil 7   often late: L before registers close, U after" > rf
  print "#   pupil 8   a refused term-time holiday (G), 7 school days from day 151" > rf
  print "#   pupil 9   morning appointments (M), back for the afternoon" > rf
  print "#   others    96-99%; with 20+ pupils the last joins in January, the one before leaves in February" > rf

  for (idx = 0; idx < nd; idx++) {
    z = dayz[idx]; live = (z >= F && z <= T)
    for (s = 1; s <= nschools; s++)
      for (p = 1; p <= npupils; p++)
        if (z >= rollfrom[s, p] && z <= rollto[s, p]) pupil_day(s, p, z, pmopen[idx])
        else { ill[s, p] = 0; lastpm[s, p] = "" }
    # The office recodes the marks nobody explained (after the registers,
    # before 16:00): newer, so they win.
    for (k = 1; k <= pn[idx]; k++) {
      split(pq[idx, k], q, SUBSEP)
      later(pick(q[1], q[2], z, 30 + k, 14 * 3600, 15 * 3600 + 45 * 60), q[1], q[2], q[3] + 0, q[4], q[5], "", -1)
      delete pq[idx, k]
    }
    flush_day(z)
  }
  close(rf)
  printf "gen-year: wrote %d marks and %d clock lines (%d school(s), %d pupils each, %s to %s) to %s\n",
         nmarks, nclock, nschools, npupils, from, to, dir
}'
