#!/usr/bin/env bash
# demo-data.sh - write a small demo trust's five SPEC section 4 files into DIR:
# three schools in LA 909, 40 pupils each, both parents of each pupil with a
# mobile (Ofcom's drama range, 07700 900xxx) and an email at example.org, the
# autumn 2026 calendar, and the register for the first three weeks of term.
# Deterministic: the same files every run.  Usage: scripts/demo-data.sh DIR
set -euo pipefail
dir=${1:?usage: scripts/demo-data.sh DIR}
mkdir -p "$dir"

awk -v dir="$dir" 'BEGIN {
  srand(2026);
  alpha = "ABCDEFGHJKLMNPQRTUVWXYZ";
  nschools = 3; npupils = 40;
  split("100101 100102 100103", urn, " ");
  split("Lowther Endowed|Fellside Primary|Eden Valley Academy", sname, "|");
  split("002_lowther 001_attendance_process 004_hcat", policy, " ");
  split("Ava Ben Cara Dev Ella Finn Gina Hari Isla Jack Kofi Lena Milo Nia Omar Pia Rhys Sami Tara Zac", fore, " ");
  split("Smith Jones Patel Khan Brown Wilson Evans Taylor Hughes Ali", sur, " ");

  f = dir "/schools.csv";
  print "urn,name,la_code,trust_id,policy,phone" > f;
  for (s = 1; s <= nschools; s++)  # the drama range for landlines: 01632 960xxx
    printf "%s,%s,909,NORTH-TRUST,%s,01632 960%03d\n", urn[s], sname[s], policy[s], s > f;

  f = dir "/calendar.csv";
  print "urn,kind,from,to,session" > f;
  for (s = 1; s <= nschools; s++) {
    printf "%s,term,2026-09-02,2026-12-18,\n", urn[s] > f;
    printf "%s,closure,2026-10-26,2026-10-30,ALL\n", urn[s] > f;
    printf "%s,closure,2026-11-27,2026-11-27,PM\n", urn[s] > f;
  }

  fp = dir "/pupils.csv"; fc = dir "/contacts.csv";
  print "urn,upn,forename,surname,year_group,date_of_birth,on_roll_from,on_roll_to,sen,fsm,eal,cla,social_worker" > fp;
  print "upn,contact_id,name,relationship,parental_responsibility,mobile,email,priority" > fc;
  n = 0;
  for (s = 1; s <= nschools; s++) {
    for (p = 1; p <= npupils; p++) {
      n++;
      digits = sprintf("909%04d25%03d", 2000 + s, p);
      sum = 0;
      for (i = 1; i <= 12; i++) sum += substr(digits, i, 1) * (i + 1);
      upn[s, p] = substr(alpha, sum % 23 + 1, 1) digits;
      yg = (p % 6) + 1;
      fn = fore[(n % 20) + 1]; sn = sur[(n % 10) + 1];
      flag(); sen = r; flag(); fsm = r; flag(); eal = r;
      cla = (p == 7) ? "Y" : "N"; sw = (p == 7 || p == 19) ? "Y" : "N";
      printf "%s,%s,%s,%s,%d,%04d-%02d-%02d,2026-09-01,,%s,%s,%s,%s,%s\n", urn[s], upn[s, p],
             fn, sn, yg, 2026 - 5 - yg, (p % 12) + 1, (p % 27) + 1, sen, fsm, eal, cla, sw > fp;
      printf "%s,%s-m,Parent A %s,mother,Y,07700 900%03d,parent.a.%d@example.org,1\n",
             upn[s, p], upn[s, p], sn, n % 1000, n > fc;
      if (p % 5 != 0)  # most pupils have a second parent
        printf "%s,%s-f,Parent B %s,father,Y,+44 7700 900%03d,parent.b.%d@example.org,2\n",
               upn[s, p], upn[s, p], sn, (n + 500) % 1000, n > fc;
      printf "%s,%s-g,Grandparent %s,grandparent,N,07700 900%03d,,3\n",
             upn[s, p], upn[s, p], sn, (n + 250) % 1000 > fc;
    }
  }

  f = dir "/marks.csv";
  print "urn,upn,date,session,code,minutes_late,recorded_at" > f;
  split("2026-09-02 2026-09-03 2026-09-04 2026-09-07 2026-09-08 2026-09-09 2026-09-10 2026-09-11 2026-09-14 2026-09-15 2026-09-16 2026-09-17 2026-09-18", day, " ");
  for (s = 1; s <= nschools; s++)
    for (p = 1; p <= npupils; p++)
      for (d = 1; d <= 13; d++)
        for (ss = 0; ss < 2; ss++) {
          x = rand();
          code = ss ? "\\" : "/"; late = "";
          if (p == 3) code = "N";  # a run of unexplained absence
          else if (p == 11 && d > 6) code = "G";  # a term-time holiday
          else if (x < 0.03) code = "I";
          else if (x < 0.05) code = "N";
          else if (x < 0.06) code = "O";
          else if (x < 0.08 && !ss) { code = "L"; late = int(5 + rand() * 20); }
          printf "%s,%s,%s,%s,%s,%s,%sT%s+01:00\n", urn[s], upn[s, p], day[d], ss ? "PM" : "AM",
                 code, late, day[d], ss ? "13:20:00" : "08:55:00" > f;
        }
}
function flag() { r = (rand() < 0.2) ? "Y" : "N" }'
echo "demo-data: wrote $(ls "$dir" | wc -l) files to $dir"
