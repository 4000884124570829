#!/usr/bin/python3
#
# Copyright (C) The ngx_http_staged_update_module authors
#
# The seed's purpose, shown: a population of launchers (sim/launchers.c)
# against the real nginx with the module, in real time, one scenario
# after the other, each on a fresh nginx (2 workers):
#
#   all       everyone at once: 100%
#   seed      the seed's fixed probabilities, a fresh draw per check
#             (the demo's table: 50% for the population's 1.6.0)
#   ramp      a ramp: 1% 5% 20% 50% 100%, a step every quarter day
#   cap       100% with a rate cap: the everyone-at-once peak / 12
#   ramp+cap  both
#   bad       a bad release: 100%, client-bound tokens, halt_on
#             failures=5% min=20; a granted launcher (a 302 whose Location
#             carries its token) reports on the real report endpoint with
#             that Location as its grant; --fail of them (30%) fail,
#             report "rolled-back" and go on with the old version; the
#             module halts the release once the bound is crossed
#
# Each launcher starts once a day at its own time of day, drawn from a
# daily curve (1 - 0.8 cos: a peak at noon, 9x the night's low), checks
# at every start, upgrades when granted, re-checks when a deferral's
# Retry-After has passed.  Output: a CSV per scenario, a table
# (peak grants/s, time to 50% and 95% adoption, deferrals), and with
# --plots two PNGs (grants per second; the share on the new version), and
# with "bad" a table of the halt and a third PNG (sim-bad.png).
#
#   sim/run.py --n 1000000 --day 120 --days 2 --plots docs   # make sim
#   sim/run.py --small --check                               # t/191-sim.t
#
# Environment: TEST_NGINX_BINARY (/usr/sbin/nginx),
# TEST_NGINX_LOAD_MODULES (the .so; empty: built in), SIM_PORT (27100).

import argparse
import csv
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def utc(t):
    return time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(t))


def conf(prefix, port, module, scenario, start, a):
    """the nginx configuration of a scenario whose time 0 is start"""

    every = max(1, round(a.day / 4))
    lines = ['default 100%;']

    if scenario == 'seed':
        lines = ['default 10%;', 'rule 1.5.0-1.9.* 50%;']

    if scenario.startswith('ramp'):
        lines = ['ramp r 1%% 5%% 20%% 50%% 100%% every %ds from %s;'
                 % (every, utc(start)), 'default ramp:r;']

    if scenario.endswith('cap'):
        lines.append('rate %d/s burst=%d;' % (a.cap, max(2, a.cap // 60)))

    track, where = '', ''
    if scenario == 'bad':
        track = ('\n        token secret=%s/token.secret client;'
                 '\n        halt_on failures=%d%% min=%d;'
                 % (prefix, a.halt_failures, a.halt_min))
        where = 'location = /update/report { staged_update_report game; }'

    load = 'load_module %s;' % module if module else ''

    return f'''{load}
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 100000000;
    staged_update_zone sim 1m;
    staged_update_track game {{
        zone sim;
        latest 2.0.0 {prefix}/rel/2.0.0;
        minimum 1.0.0;
        {chr(10).join('        ' + l for l in lines).strip()}{track}
    }}
    server {{
        listen 127.0.0.1:{port};
        location = /update/check {{ staged_update game redirect; }}
        {where}
    }}
}}
'''


def run(scenario, a, launchers, nginx, module, port):
    prefix = os.path.join(a.work, scenario.replace('+', '-'))
    shutil.rmtree(prefix, ignore_errors=True)
    os.makedirs(prefix + '/rel/2.0.0/.update')

    with open(prefix + '/rel/2.0.0/.update/full.tar.gz', 'w') as f:
        f.write('the full archive of 2.0.0\n')
    with open(prefix + '/rel/2.0.0/version.txt', 'w') as f:
        f.write('version=2.0.0\n')

    with open(prefix + '/token.secret', 'w') as f:
        f.write(os.urandom(32).hex() + '\n')

    start = math.ceil(time.time()) + 3

    with open(prefix + '/nginx.conf', 'w') as f:
        f.write(conf(prefix, port, module, scenario, start, a))

    subprocess.run([nginx, '-p', prefix, '-c', prefix + '/nginx.conf'],
                   check=True)
    try:
        key = 'id' if scenario == 'seed' else 'client'
        bad = []
        if scenario == 'bad':
            bad = ['--report', '/update/report', '--to', '2.0.0',
                   '--fail', str(a.fail)]
        out = subprocess.run([launchers, '--port', str(port), '--n',
                              str(a.n), '--day', str(a.day), '--days',
                              str(a.days), '--version', '1.6.0', '--key',
                              key, '--conns', str(a.conns), '--at',
                              str(start), '--seed', '7'] + bad,
                             check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        if scenario == 'bad':
            with urllib.request.urlopen('http://127.0.0.1:%d/update/report'
                                        % port) as r:
                funnel = r.read().decode()
    finally:
        with open(prefix + '/nginx.pid') as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGQUIT)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)

    with open(prefix + '/launchers.csv', 'w') as f:
        f.write(out.stdout)

    if scenario == 'bad':
        with open(prefix + '/error.log') as f:
            log = f.read()
        with open(prefix + '/halt.json', 'w') as f:
            json.dump({'launchers': out.stderr, 'funnel': json.loads(funnel),
                       'log': [line for line in log.splitlines()
                               if 'halted by halt_on' in line]}, f)

    sys.stderr.write('%-9s %s' % (scenario, out.stderr))
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    return {k: [int(r[k]) for r in rows] for k in rows[0]}, out.stderr


def first(series, share, n):
    for t, v in enumerate(series):
        if v >= share * n:
            return t + 1
    return None


def summary(name, s, a):
    grants = s['grants']
    peak = max(grants)
    row = {
        'scenario': name,
        'peak': peak,
        't50': first(s['upgraded'], 0.50, a.n),
        't95': first(s['upgraded'], 0.95, a.n),
        'checks': sum(s['checks']),
        'deferrals': sum(s['deferred']),
        'errors': sum(s['errors']),
        'final': s['upgraded'][-1] / a.n,
    }

    # the seconds when the checks that won their draw (granted or
    # deferred) are at least 1.5 times the cap, but the first (the burst)
    # and the last
    bound = [g for g, d in zip(grants, s['deferred'])
             if g + d >= 1.5 * a.cap][1:-1]
    if name.endswith('cap') and bound:
        row['cap_mean'] = sum(bound) / len(bound)
        row['cap_min'] = min(bound)
        row['cap_max'] = max(bound)
        row['cap_seconds'] = len(bound)

    return row


def halt(prefix, s):
    """the bad release's figures: the launchers' view, the module's"""

    with open(os.path.join(prefix, 'halt.json')) as f:
        h = json.load(f)
    m = re.search(r'halt at (-?\d+) ms, (\d+) grants before it, (\d+) '
                  r'granted checks sent after it', h['launchers'])
    w = re.search(r'(\d+) failures in (\d+) outcomes', ' '.join(h['log']))
    last = max([t for t, g in enumerate(s['grants']) if g] or [-1])
    return {
        'halt_ms': int(m.group(1)),
        'before': int(m.group(2)),
        'after': int(m.group(3)),
        'installs': sum(s['grants']),
        'failed': sum(s['failed']),
        'halted': sum(s['halted']),
        'last_grant_s': last,
        'k': int(w.group(1)) if w else None,
        'n': int(w.group(2)) if w else None,
        'funnel': h['funnel']['funnel'][0],
    }


def halt_table(h, a):
    f = h['funnel']
    out = ['| scenario | halt at | grants before the halt | granted checks '
           'sent after it | last second with a grant | installs of 2.0.0 '
           '(failed) | the sample at the halt | checks answered "halted" |',
           '|---|---|---|---|---|---|---|---|',
           '| bad (%g%% fail) | %s | %d | %d | %s | %d (%d) | %s | %d |' % (
               100 * a.fail,
               '—' if h['halt_ms'] < 0 else '%.3f s' % (h['halt_ms'] / 1000),
               h['before'], h['after'],
               '—' if h['last_grant_s'] < 0 else '%d s' % h['last_grant_s'],
               h['installs'], h['failed'],
               '—' if h['n'] is None else '%d failures in %d outcomes' % (
                   h['k'], h['n']), h['halted'])]
    return ('\n'.join(out) + '\n\nbad: halt_on failures=%d%% min=%d; the '
            "module's funnel at the end: granted %d, started %d, rolled "
            'back %d, halted_by_rule %s\n' % (
                a.halt_failures, a.halt_min, f['granted'], f['started'],
                f['rolled_back'], str(f['halted_by_rule']).lower()))


def fmt_t(t, day):
    return '—' if t is None else '%d s (%.2f d)' % (t, t / day)


def table(rows, a):
    out = ['| scenario | peak grants/s | time to 50% | time to 95% | '
           'adopted at the end | checks | deferrals |',
           '|---|---|---|---|---|---|---|']
    for r in rows:
        out.append('| %s | %d | %s | %s | %.1f%% | %d | %d |' % (
            r['scenario'], r['peak'], fmt_t(r['t50'], a.day),
            fmt_t(r['t95'], a.day), 100 * r['final'], r['checks'],
            r['deferrals']))
    return '\n'.join(out) + '\n'


def plots(series, a, where, h=None):
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    os.makedirs(where, exist_ok=True)

    def one(name, title, ylabel, values, mark, only=None):
        fig, ax = plt.subplots(figsize=(9, 4.5))
        for scenario, s in series.items():
            if only and scenario not in only:
                continue
            v = values(s)
            ax.plot(range(len(v)), v, label=scenario, linewidth=1.2)
        mark(ax)
        ax.set_xlabel('seconds (a day is %g s)' % a.day)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(os.path.join(where, name), dpi=90)

    def cap(ax):
        ax.axhline(a.cap, color='grey', linestyle=':', linewidth=1,
                   label='cap %d/s' % a.cap)
        ax.set_yscale('symlog', linthresh=max(10, a.cap / 10))
        ax.set_ylim(bottom=0)

    def window(ax):
        ax.axvline(4 * max(1, round(a.day / 4)) + a.day, color='grey',
                   linestyle=':', linewidth=1,
                   label="the ramp's planned window")

    good = [x for x in series if x != 'bad']
    if good:
        one('sim-grants.png',
            'Grants per second, %d launchers, 2 nginx workers' % a.n,
            'grants per second', lambda s: s['grants'], cap)
        one('sim-adoption.png', 'Adoption, %d launchers' % a.n,
            '% of the launchers on the new version',
            lambda s: [100.0 * u / a.n for u in s['upgraded']], window,
            only=good)

    if h is None:
        return

    # the bad release: grants stop at the halt; the same release without
    # reports (all) beside it when it ran too
    b = series['bad']
    fig, ax = plt.subplots(figsize=(9, 4.5))
    if 'all' in series:
        v = series['all']['grants']
        ax.plot(range(len(v)), v, label='all (no halt_on)', linewidth=1.2,
                color='tab:blue', alpha=0.5)
    for key, label, color in (
            ('grants', 'bad: grants', 'tab:red'),
            ('halted', 'bad: checks answered "halted"', 'tab:grey'),
            ('failed', 'bad: rolled-back reports', 'black')):
        ax.plot(range(len(b[key])), b[key], label=label, linewidth=1.2,
                color=color, drawstyle='steps-post')
    if h['halt_ms'] >= 0:
        ax.axvline(h['halt_ms'] / 1000, color='tab:red', linestyle=':',
                   linewidth=1, label='halt at %.3f s: %d grants, %d '
                   'installs in all' % (h['halt_ms'] / 1000, h['before'],
                                        h['installs']))
    ax.set_yscale('symlog', linthresh=10)
    ax.set_ylim(bottom=0)
    ax.set_xlabel('seconds (a day is %g s)' % a.day)
    ax.set_ylabel('per second')
    ax.set_title('A bad release (%g%% of the launchers fail), %d launchers, '
                 'halt_on failures=%d%% min=%d' % (100 * a.fail, a.n,
                                                  a.halt_failures, a.halt_min))
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.path.join(where, 'sim-bad.png'), dpi=90)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--n', type=int, default=1000000)
    p.add_argument('--day', type=float, default=120)
    p.add_argument('--days', type=int, default=2)
    p.add_argument('--cap', type=int, default=0,
                   help='grants/s; default: the expected peak / 12')
    p.add_argument('--conns', type=int, default=64)
    p.add_argument('--scenarios', default='all,seed,ramp,cap,ramp+cap,bad')
    p.add_argument('--fail', type=float, default=0.3,
                   help='bad: the share of the launchers whose upgrade fails')
    p.add_argument('--halt-failures', type=int, default=5,
                   help='bad: halt_on failures=<this>%%')
    p.add_argument('--halt-min', type=int, default=20,
                   help='bad: halt_on min=<this>')
    p.add_argument('--small', action='store_true',
                   help='12000 launchers, a day of 8 s, cap, ramp and bad')
    p.add_argument('--check', action='store_true',
                   help='fail unless the goals hold')
    p.add_argument('--below', type=float, default=2,
                   help='--check: the %% the mean may be below the cap')
    p.add_argument('--plots', help='write the PNGs into this folder')
    p.add_argument('--table', help='write the table (markdown) here')
    p.add_argument('--work', default=os.path.join(TOP, 'build', 'sim'))
    p.add_argument('--from-csv', action='store_true',
                   help='no run: the table and plots of the CSVs of the '
                        'last run in --work (with the same --n, --day)')
    a = p.parse_args()

    if a.small:
        a.n, a.day, a.days, a.conns = 12000, 8, 2, 32
        if a.below == p.get_default('below'):
            a.below = 5      # the test runs while other tests load the CPU
        if a.scenarios == p.get_default('scenarios'):
            a.scenarios = 'cap,ramp,bad'

    # the everyone-at-once peak: the daily curve's top, 1.8x the mean
    if a.cap == 0:
        a.cap = max(10, int(a.n / a.day * 1.8 / 12))

    nginx = os.environ.get('TEST_NGINX_BINARY') or '/usr/sbin/nginx'
    module = os.environ.get('TEST_NGINX_LOAD_MODULES',
                            os.path.join(TOP, 'build',
                                         'ngx_http_staged_update_module.so'))
    port = int(os.environ.get('SIM_PORT', '27100'))

    os.makedirs(a.work, exist_ok=True)
    launchers = os.path.join(a.work, 'launchers')
    subprocess.run(['cc', '-O2', '-Wall', '-Wextra', '-o', launchers,
                    os.path.join(TOP, 'sim', 'launchers.c'), '-lm'],
                   check=True)

    series, rows, h = {}, [], None
    for name in a.scenarios.split(','):
        if a.from_csv:
            with open(os.path.join(a.work, name.replace('+', '-'),
                                   'launchers.csv')) as f:
                r = list(csv.DictReader(f))
            s = {k: [int(x[k]) for x in r] for k in r[0]}
        else:
            s, _ = run(name, a, launchers, nginx, module, port)
        series[name] = s
        if name == 'bad':
            h = halt(os.path.join(a.work, name), s)
        else:
            rows.append(summary(name, s, a))

    text = table(rows, a) if rows else ''
    for r in rows:
        if 'cap_mean' in r:
            text += ('\n%s: the cap %d/s; over the %d seconds whose '
                     'winning checks were 1.5 times the cap or more, '
                     'grants/s mean %.1f (%+.2f%%), min %d (%+.2f%%), '
                     'max %d (%+.2f%%)\n' % (
                         r['scenario'], a.cap, r['cap_seconds'],
                         r['cap_mean'], 100 * (r['cap_mean'] / a.cap - 1),
                         r['cap_min'], 100 * (r['cap_min'] / a.cap - 1),
                         r['cap_max'], 100 * (r['cap_max'] / a.cap - 1)))
    peaks = {r['scenario']: r['peak'] for r in rows}
    if 'all' in peaks and 'cap' in peaks:
        text += ('\neveryone at once / capped peak: %d / %d = %.1fx\n'
                 % (peaks['all'], peaks['cap'], peaks['all'] / peaks['cap']))
    window = 4 * max(1, round(a.day / 4)) + a.day
    if rows:
        text += ("\nthe ramp's planned window: its last step (100%%) begins "
                 "at %d s, plus a day for every launcher to start once: "
                 "%d s\n" % (window - a.day, window))
    if h:
        text += ('\n' if rows else '') + halt_table(h, a)

    print(text)
    if a.table:
        with open(a.table, 'w') as f:
            f.write(text)
    if a.plots:
        plots(series, a, a.plots, h)

    if not a.check:
        return 0

    bad = []
    for r in rows:
        if r['errors']:
            bad.append('%s: %d errors' % (r['scenario'], r['errors']))
        if r['scenario'].endswith('cap'):
            # never above the cap by more than 2% (and a grant, for small
            # caps); under pressure at least (100 - below)% of it: a worker
            # that the machine does not run for longer than the burst's
            # time loses that time's grants
            if r['peak'] > a.cap * 1.02 + 1 or r['peak'] < a.cap * 0.98:
                bad.append('%s: peak %d is not within 2%% of the cap %d'
                           % (r['scenario'], r['peak'], a.cap))
            if ('cap_mean' not in r or r['cap_mean'] > a.cap * 1.02 + 1
                    or r['cap_mean'] < a.cap * (1 - a.below / 100)):
                bad.append('%s: the mean under pressure is not within '
                           '+2%%/-%g%% of the cap' % (r['scenario'], a.below))
        if r['scenario'] == 'ramp':
            if r['t95'] is None or r['t95'] > window:
                bad.append('ramp: 95%% adoption at %s, after the window '
                           'of %d s' % (r['t95'], window))
    if h:
        # the release is halted by its rule, after at least min outcomes;
        # no check sent after a halted answer came back is granted, and
        # every install is one of the sample at the halt or one granted
        # before the halt while the launchers' connections were busy
        if h['halt_ms'] < 0 or not h['funnel']['halted_by_rule']:
            bad.append('bad: the release was not halted')
        if h['after']:
            bad.append('bad: %d checks sent after the halt were granted'
                       % h['after'])
        if h['n'] is None or h['n'] < a.halt_min:
            bad.append('bad: halted with a sample of %s < min=%d'
                       % (h['n'], a.halt_min))
        elif h['installs'] > h['n'] + a.conns:
            bad.append('bad: %d installs, more than the sample at the halt '
                       '(%d) and the %d connections in flight'
                       % (h['installs'], h['n'], a.conns))
    for b in bad:
        print('FAIL: ' + b)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
