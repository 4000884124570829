# Copyright (C) The ngx_http_staged_update_module authors
#
# Health-gated rollouts (issue 11) end to end over HTTPS, with a real nginx
# (master + 2 workers, a state file) and the reference launcher:
#
# - a release whose program fails at start, at 100%: 300 launchers, each
#   in its own install directory (8 at a time), with --health-seconds:
#   every one that got the upgrade rolls back by itself and runs the old
#   version, every other one runs the old version; the track halts once
#   the Wilson bound is crossed (logged at warn with the figures), later
#   checks answer no upgrade; the halt survives a reload and a restart;
#   the API lifts it;
# - a release failing 30% (direct reports with real tokens): halted, and
#   after how many outcomes; a healthy release with 1% failures: not
#   halted; a release of one business server: that server halted only;
# - forged reports (no token, another version's token, another client's,
#   an expired one, a token of another secret), duplicates, floods, bad
#   bodies and methods: none moves the counts; a full vote table (409);
# - the funnel as JSON and as Prometheus text (promtool check metrics);
# - nginx -t refuses staged_update_report on a track whose tokens are not
#   bound to clients, and a halt_on of an unknown server.
#
# Plain Test::More. Port TEST_NGINX_PORT + 160.
#
#   STAGED_UPDATE_LAUNCHER=build/launcher TEST_NGINX_PORT=29000 \
#   TEST_NGINX_LOAD_MODULES=$PWD/build/ngx_http_staged_update_module.so \
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -v t/106-health.t

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Spec;
use File::Basename qw(dirname);
use IO::Socket::INET;
use IO::Socket::SSL;
use Digest::SHA qw(hmac_sha256);
use MIME::Base64 qw(encode_base64url);
use Time::HiRes qw(time sleep);
use Cwd qw(abs_path);
use POSIX ();

use lib dirname(__FILE__) . '/common';
use StagedUpdateE2E qw(sys wait_port write_file read_file tree);

my $top = abs_path(dirname(__FILE__) . '/..');
my $launcher = File::Spec->rel2abs($ENV{STAGED_UPDATE_LAUNCHER}
                                   || "$top/build/launcher");
my $modules = $ENV{TEST_NGINX_LOAD_MODULES};
my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => "no launcher at $launcher" unless -x $launcher;
plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set'
    unless defined $modules;
plan skip_all => "nginx binary \"$nginx\" is not executable"
    unless -x $nginx;
plan skip_all => 'openssl is needed' unless qx(openssl version 2>/dev/null);

my @modules = map { File::Spec->rel2abs($_) } split ' ', $modules;

my $base = ($ENV{TEST_NGINX_PORT} || 1984) + 160;
my $URL  = "https://127.0.0.1:$base";

my $root = tempdir('staged-update-health-XXXXXX', TMPDIR => 1,
                   CLEANUP => !$ENV{TEST_KEEP});
chmod 0755, $root;
my $keys = "$root/keys";
my $rel  = "$root/releases";
my $nginx_pid;

END {
    local $?;
    stop() if $nginx_pid;
}

$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };
$SIG{ALRM} = sub { die "the test took more than 170 s, giving up\n" };
alarm 170;


# ---------------------------------------------------------------------------
# keys, releases (2.0.0 of "bad" exits 1 at start), nginx

make_path($keys, "$root/logs", "$root/tmp", "$root/state");
chmod 0777, "$root/state";      # the workers (nobody as root) write it

sys("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
    . "-nodes -days 2 -subj /CN=localhost "
    . "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 "
    . "-keyout $keys/tls.key -out $keys/tls.crt 2>/dev/null");
sys("openssl genpkey -algorithm ed25519 -out $keys/manifest.pem");
sys("openssl pkey -in $keys/manifest.pem -pubout -out $keys/manifest.pub.pem");
sys("openssl rand -hex 32 > $keys/token.secret");
sys("openssl rand -hex 32 > $keys/other.secret");

sys("$top/examples/make-release.sh $rel");
make_path("$root/bad");
sys("cp -a $rel/2.0.0 $root/bad/2.0.0");
write_file("$root/bad/2.0.0/bin/game",
           "#!/bin/sh\necho \"broken build: cannot start\" >&2\nexit 1\n");
chmod 0755, "$root/bad/2.0.0/bin/game";

my $secret = read_file("$keys/token.secret");
$secret =~ s/\s+\z//;

die "127.0.0.1:$base is in use (TEST_NGINX_PORT moves the ports)\n"
    if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $base);

my $load = join '', map { "load_module $_;\n" } @modules;
my $tok = "token secret=$keys/token.secret client";

write_file("$root/nginx.conf", <<"CONF");
$load
master_process on;
worker_processes 2;
daemon on;
pid $root/logs/nginx.pid;
error_log $root/logs/error.log notice;

events {
    worker_connections 256;
}

http {
    access_log off;
    client_body_temp_path $root/tmp;

    staged_update_zone upd 2m state=$root/state/upd.json;

    staged_update_track bad {
        zone    upd;
        latest  2.0.0  $root/bad/2.0.0  url=/bad/2.0.0/;
        default 100%;
        $tok;
        sign    $keys/manifest.pem;
        halt_on failures=5% min=20;
    }

    staged_update_track thirty {
        zone    upd;
        latest  2.0.0  $rel/2.0.0;
        default 100%;
        $tok;
        halt_on failures=5% min=20 confidence=95%;
    }

    staged_update_track good {
        zone    upd;
        latest  2.0.0  $rel/2.0.0;
        default 100%;
        $tok;
        halt_on failures=5% min=20;
    }

    staged_update_track multi {
        zone    upd;
        latest  2.0.0  $rel/2.0.0;
        default 100%;
        server  shard-1  latest=1.9.0  release=$rel/1.9.0;
        server  shard-2  latest=1.9.0;
        $tok;
        halt_on failures=5% min=20;
        halt_on shard-2 failures=50% min=10;
    }

    staged_update_track full {
        zone    upd;
        latest  2.0.0  $rel/2.0.0;
        default 100%;
        $tok;
    }

    server {
        listen 127.0.0.1:$base ssl;
        ssl_certificate     $keys/tls.crt;
        ssl_certificate_key $keys/tls.key;

        location = /bad/check     { staged_update bad; }
        location = /bad/report    { staged_update_report bad; }
        location = /thirty/check  { staged_update thirty; }
        location = /thirty/report { staged_update_report thirty; }
        location = /good/check    { staged_update good; }
        location = /good/report   { staged_update_report good; }
        location = /multi/check   { staged_update multi; }
        location = /multi/report  { staged_update_report multi late=1h; }
        location = /full/check    { staged_update full; }
        location = /full/report   { staged_update_report full clients=64; }

        location /update/api/ { staged_update_api write=on; }
        location = /update/status { staged_update_status; }

        location /bad/      { staged_update_verify bad;    alias $root/bad/; }
        location /releases/ { staged_update_verify thirty; alias $rel/; }
    }
}
CONF

start();


# ---------------------------------------------------------------------------
# nginx -t: reports need client-bound tokens; halt_on names known servers

{
    my $c = read_file("$root/nginx.conf");
    (my $t1 = $c) =~ s/token secret=\Q$keys\E\/token.secret client;\n(\s+sign)/token secret=$keys\/token.secret;\n$1/;
    write_file("$root/t1.conf", $t1);
    my $out = qx($nginx -t -p $root/ -c $root/t1.conf -e $root/logs/t.log 2>&1);
    like($out, qr/staged_update_report bad: the track's tokens must be bound to clients \("token secret=<file> client;"\)/,
         'nginx -t: staged_update_report without "token ... client" is refused');

    (my $t2 = $c) =~ s/halt_on shard-2/halt_on shard-9/;
    write_file("$root/t2.conf", $t2);
    $out = qx($nginx -t -p $root/ -c $root/t2.conf -e $root/logs/t.log 2>&1);
    like($out, qr/"halt_on" names an unknown server "shard-9"/,
         'nginx -t: halt_on of an unknown server is refused');

    (my $t3 = $c) =~ s/failures=50% min=10/failures=50% min=0/;
    write_file("$root/t3.conf", $t3);
    $out = qx($nginx -t -p $root/ -c $root/t3.conf -e $root/logs/t.log 2>&1);
    like($out, qr/"halt_on" has an invalid parameter "min=0"/,
         'nginx -t: halt_on min=0 is refused');
}


# ---------------------------------------------------------------------------
# 300 launchers against a release whose program fails at start

my %V1 = (
    'bin/game'       => "#!/bin/sh\necho \"demo game 1.0.0\"\n",
    'version.txt'    => "version=1.0.0\n",
    'data/pack0.pak' => "1.0.0 pack 0\n" x 30,
);

sub install_v1 {
    my ($dir) = @_;

    for my $p (keys %V1) {
        make_path(dirname("$dir/$p"));
        write_file("$dir/$p", $V1{$p});
    }
    chmod 0755, "$dir/bin/game";
    make_path("$dir/.launcher");
    write_file("$dir/.launcher/version", "1.0.0\n");
}

my $N = 300;
my $PAR = 8;
my %out;

{
    my $t0 = time;
    my %running;
    my $next = 0;

    while ($next < $N || %running) {
        while ($next < $N && keys %running < $PAR) {
            my $i = $next++;
            my $dir = "$root/inst/$i";
            install_v1($dir);

            my $pid = fork // die "fork: $!\n";

            if ($pid == 0) {
                open STDOUT, '>', "$root/inst/$i.out" or POSIX::_exit(1);
                open STDERR, '>&', \*STDOUT or POSIX::_exit(1);
                open STDIN, '<', '/dev/null' or POSIX::_exit(1);
                exec $launcher, '--dir', $dir, '--server', $URL,
                     '--cacert', "$keys/tls.crt",
                     '--pubkey', "$keys/manifest.pub.pem",
                     '--check-path', '/bad/check',
                     '--report-path', '/bad/report',
                     '--health-seconds', '2', '--exec', 'bin/game'
                    or POSIX::_exit(127);
            }

            $running{$pid} = $i;
        }

        my $pid = waitpid(-1, 0);
        last if $pid < 0;
        my $i = delete $running{$pid};
        $out{$i} = [$?, read_file("$root/inst/$i.out")] if defined $i;
    }

    note(sprintf "%d launchers in %.1f s", $N, time - $t0);
}

my @rolled = grep { $out{$_}[1] =~ /failed its health check.*rolling back/s }
             0 .. $N - 1;
my @bad_exit = grep { $out{$_}[0] != 0 } 0 .. $N - 1;
my @old = grep { $out{$_}[1] =~ /^demo game 1\.0\.0$/m
                 && $out{$_}[1] !~ /^demo game 2/m } 0 .. $N - 1;
my @whole = grep { state_of("$root/inst/$_") eq 'old'
                   && read_file("$root/inst/$_/.launcher/version")
                      eq "1.0.0\n" } 0 .. $N - 1;

is(scalar @bad_exit, 0, "$N launchers: every one exits 0 (the old game's "
                        . 'status)')
    or diag($out{$bad_exit[0]}[1]);
is(scalar @old, $N, "$N launchers: every one runs the old version 1.0.0");
is(scalar @whole, $N, "$N launchers: every installation holds 1.0.0 "
                      . 'exactly, .launcher/version 1.0.0');
cmp_ok(scalar @rolled, '>=', 20, 'at least min=20 launchers got the upgrade '
                                 . 'and rolled back by themselves');
cmp_ok(scalar @rolled, '<', 20 + 2 * $PAR,
       'the halt came at the bound: few more than min=20 installs, those '
       . 'in flight') or diag(scalar @rolled);
note(scalar(@rolled) . " of $N launchers installed 2.0.0 before the halt "
     . "(100% failures, failures=5% min=20)");

like($out{$rolled[0]}[1], qr/report\(s\) sent/, 'a rolled-back launcher '
     . 'sends its reports') if @rolled;

my $funnel = get_json('/bad/report');
my ($row) = grep { !defined $_->{server} } @{ $funnel->{funnel} };

is($row->{rolled_back}, scalar @rolled, 'funnel: rolled_back = the '
                                        . 'launchers that rolled back');
is($row->{installed}, scalar @rolled, 'funnel: installed = the same');
is($row->{failures}, scalar @rolled, 'funnel: failures of the sample');
is($row->{outcomes}, scalar @rolled, 'funnel: outcomes of the sample');
is($row->{started}, 0, 'funnel: none started');
cmp_ok($row->{granted}, '>=', scalar @rolled, 'funnel: granted >= installs');
cmp_ok($row->{downloaded}, '>=', scalar @rolled, 'funnel: downloaded >= '
                                                 . 'installs');
ok($row->{halted_by_rule}, 'funnel: halted_by_rule');

my $api = get_json('/update/api/tracks/bad');
ok($api->{halted}, 'the API shows the track halted');
like(read_file("$root/state/upd.json"), qr/"bad".*"field":"halted"/s,
     'the halt is in the state file');
like(read_file("$root/logs/error.log"),
     qr/\[warn\].*track "bad": release 2\.0\.0 halted by halt_on: (\d+) failures in \1 outcomes, the lower bound of the failure rate at 95\.00% confidence is [\d.]+%, above 5\.00% \(min=20\)/,
     'the halt is logged at warn with its figures');

sub check_status {
    my ($track, $q) = @_;
    my ($st) = req('GET', "/$track/check?version=1.0.0&client=later$q");
    return $st;
}

is(check_status('bad', 1), 204, 'a later check: no upgrade');

kill 'HUP', $nginx_pid;
wait_reload();
is(check_status('bad', 2), 204, 'after a reload: still halted');

stop();
start();
is(check_status('bad', 3), 204, 'after a restart: still halted');
ok(get_json('/update/api/tracks/bad')->{halted}, 'after a restart: the API '
                                                 . 'shows it halted');

{
    my ($st) = req('PATCH', '/update/api/tracks/bad', '{"halted": false}');
    is($st, 200, 'the API lifts the halt');
    is(check_status('bad', 4), 200, 'lifted: checks upgrade again');
}


# ---------------------------------------------------------------------------
# direct reports with real tokens

# a check for a client; its grant: a URL of the answer, with the token
sub grant {
    my ($track, $client, $server) = @_;
    my $q = "version=1.0.0&client=$client"
            . ($server ? "&server=$server" : '');
    my ($st, $body) = req('GET', "/$track/check?$q");
    return undef unless $st == 200;
    my ($url) = $body =~ /"files":\[\{"path":"[^"]*","size":\d+,"sha256":"[0-9a-f]+","url":"([^"]+)"/;
    return $url;
}

sub report {
    my ($track, %r) = @_;
    my @f = map { "\"$_\":\"$r{$_}\"" } grep { defined $r{$_} } sort keys %r;
    return req('POST', "/$track/report", '{' . join(',', @f) . '}');
}

sub row {
    my ($track, $server) = @_;
    my $f = get_json("/$track/report");
    my ($r) = grep { ($_->{server} // '') eq ($server // '') }
              @{ $f->{funnel} };
    return $r;
}

sub counts {
    my ($track) = @_;
    my $f = get_json("/$track/report");
    return join ' ', map {
        my $r = $_;
        join ',', map { $r->{$_} } qw(installed started failed rolled_back
                                       outcomes failures)
    } @{ $f->{funnel} };
}

# 30% failures: every tenth client fails three times in ten, spread
{
    my $halted_at;

    for my $i (1 .. 200) {
        my $c = "t$i";
        my $g = grant('thirty', $c);
        last unless defined $g;
        my $fail = (($i * 7) % 10) < 3;
        report('thirty', version => '2.0.0', from => '1.0.0',
               result => $fail ? 'rolled-back' : 'started', client => $c,
               grant => $g);

        if (!defined $halted_at && row('thirty')->{halted_by_rule}) {
            $halted_at = $i;
        }
    }

    ok(defined $halted_at, 'a release failing 30% is halted');
    is(check_status('thirty', 5), 204, '30%: later checks answer no upgrade');
    note("a release failing 30% was halted after $halted_at outcomes "
         . '(failures=5% min=20 at 95%)') if defined $halted_at;
    cmp_ok($halted_at // 1e9, '<=', 25, '30%: halted within 25 outcomes');
}

# 1% failures: 300 clients, 3 failures: never halted
{
    my $counted = 0;

    for my $i (1 .. 300) {
        my $c = "g$i";
        my $g = grant('good', $c);
        my ($st, $body) = report('good', version => '2.0.0', from => '1.0.0',
                                 result => ($i % 100 == 50) ? 'failed'
                                                            : 'started',
                                 client => $c, grant => $g);
        $counted++ if $body =~ /"counted":true/;
    }

    my $r = row('good');
    is($counted, 300, '1%: 300 reports counted');
    is("$r->{outcomes} $r->{failures}", '300 3', '1%: 3 failures in 300');
    ok(!$r->{halted_by_rule}, 'a release failing 1% is not halted');
    is(check_status('good', 6), 200, '1%: checks still upgrade');
}

# one business server's release: that server only
{
    for my $i (1 .. 12) {
        my $c = "s$i";
        my $g = grant('multi', $c, 'shard-2');
        report('multi', version => '1.9.0', from => '1.0.0',
               result => 'failed', client => $c, server => 'shard-2',
               grant => $g);
    }

    my $api = get_json('/update/api/tracks/multi');
    my ($s1, $s2) = @{ $api->{servers} };
    ok($s2->{halted}, 'shard-2 failing: shard-2 halted');
    ok(!$s1->{halted} && !$api->{halted}, 'shard-2 failing: shard-1 and the '
                                          . 'track are not');
    is(check_status('multi', "7&server=shard-2"), 204, 'shard-2: no upgrade');
    is(check_status('multi', "8&server=shard-1"), 200, 'shard-1: upgrades');
    is(check_status('multi', 9), 200, 'the track: upgrades');
    ok(row('multi', 'shard-2')->{halted_by_rule}, 'the shard-2 row says '
                                                  . 'halted_by_rule');
}

# forged, duplicate, flooding and bad reports move nothing
{
    my $g = grant('multi', 'F1');
    my $g19 = grant('multi', 'F2', 'shard-1');
    my $before = counts('multi');
    my %ok = (version => '2.0.0', from => '1.0.0', result => 'started',
              client => 'F1', grant => $g);

    my ($st, $body) = report('multi', %ok, grant => undef);
    is($st, 403, 'no grant: 403');
    like($body, qr/^\{"error":"a report needs the proof of its grant/,
         'no grant: says so in JSON');

    ($st) = report('multi', %ok, grant => '/releases/2.0.0/bin/game');
    is($st, 403, 'a grant without token: 403');

    ($st, $body) = report('multi', %ok, grant => $g19, client => 'F2');
    is($st, 403, "another version's token: 403");
    like($body, qr/for another version/, "another version's token: says so");

    ($st, $body) = report('multi', %ok, client => 'F3');
    is($st, 403, "another client's token: 403");
    like($body, qr/for another client/, "another client's token: says so");

    my $path = '/releases/2.0.0/bin/game';
    ($st, $body) = report('multi', %ok, client => 'F4',
                          grant => "$path?token="
                                   . token('2.0.0', int(time) - 7200, 'F4', $path));
    is($st, 403, 'a token expired 2 h ago (late=1h): 403');
    like($body, qr/expired more than 3600 seconds ago/, 'expired: says so');

    ($st, $body) = report('multi', %ok, client => 'F5',
                          grant => "$path?token="
                                   . token('2.0.0', int(time) + 600, 'F5', $path,
                                           'x' x 64));
    is($st, 403, 'a token of another secret: 403');

    ($st, $body) = report('multi', %ok, version => '3.0.0');
    is($st, 400, 'an unknown version: 400');
    like($body, qr/^\{"error":"unknown version/, 'unknown version: JSON');

    ($st) = report('multi', %ok, result => 'exploded');
    is($st, 400, 'an unknown result: 400');
    ($st) = req('POST', '/multi/report', '{"version":');
    is($st, 400, 'not JSON: 400');
    ($st) = req('POST', '/multi/report', '{"version":"2.0.0","x":1}');
    is($st, 400, 'an unknown field: 400');
    ($st) = req('POST', '/multi/report', '{"p":"' . ('a' x 20000) . '"}');
    is($st, 413, 'an oversized body: 413');
    ($st) = req('PUT', '/multi/report', '{}');
    is($st, 405, 'another method: 405');

    is(counts('multi'), $before, 'none of these moved the counts');

    ($st, $body) = report('multi', %ok);
    like($body, qr/"counted":true/, 'the real report counts');
    my $after = counts('multi');
    isnt($after, $before, 'and moves the counts');

    for (1 .. 100) {
        report('multi', %ok);
        report('multi', %ok, result => 'installed');
    }
    ($st, $body) = report('multi', %ok);
    is($st, 200, 'a duplicate: 200');
    like($body, qr/"counted":false/, 'a duplicate: not counted');
    is(row('multi')->{started}, 1, 'a flood of 200 duplicates: started '
                                   . 'counted once');
    is(row('multi')->{installed}, 1, 'and installed once');
    is(row('multi')->{outcomes}, 1, 'one outcome for the client');

    my $n = 0;
    for my $i (1 .. 100) {
        my ($s) = report('multi', %ok, client => "flood$i",
                         grant => "$path?token="
                                  . token('2.0.0', int(time) + 600, "flood$i",
                                          $path, 'y' x 64));
        $n++ if $s == 403;
    }
    is($n, 100, 'a flood of 100 forged reports: 403 each');
    is(row('multi')->{outcomes}, 1, 'a flood of forged reports: nothing '
                                    . 'counted');

    ($st, $body) = report('multi', %ok, client => 'F6',
                          grant => "$path?token="
                                   . token('2.0.0', int(time) - 600, 'F6', $path));
    like($body, qr/"counted":true/, 'a token expired 10 min ago (late=1h): '
                                    . 'counted');
}

# clients=64: a table of 128 words, 112 of them used at most; then new
# clients are refused with 409, known ones still count
{
    my $f = get_json('/full/report');
    is($f->{clients}{size}, 112, 'clients=64: room for 112 clients');

    my ($n, $st, $body) = (0);

    for my $i (1 .. 112) {
        ($st, $body) = report('full', version => '2.0.0', from => '1.0.0',
                              result => 'installed', client => "c$i",
                              grant => grant('full', "c$i"));
        $n++ if $body =~ /"counted":true/;
    }

    is($n, 112, 'clients=64: 112 clients counted');

    ($st, $body) = report('full', version => '2.0.0', from => '1.0.0',
                          result => 'installed', client => 'c113',
                          grant => grant('full', 'c113'));
    is($st, 409, 'the 113th client: 409');
    like($body, qr/^\{"error":"no room for the reports of more clients/,
         'the 113th client: says so in JSON');

    ($st, $body) = report('full', version => '2.0.0', from => '1.0.0',
                          result => 'started', client => 'c7',
                          grant => grant('full', 'c7'));
    like($body, qr/"counted":true/, 'a known client still reports');

    $f = get_json('/full/report');
    is("$f->{clients}{used} $f->{clients}{refused}", '112 1',
       'clients: 112 used, 1 refused');
    is("$f->{funnel}[0]{installed} $f->{funnel}[0]{started}", '112 1',
       'the funnel: 112 installed, 1 started');
    like(read_file("$root/logs/error.log"),
         qr/\[warn\].*staged_update_report full: no room for the votes of more clients \(112 kept\): raise clients=/,
         'the refusal is logged at warn');
}

# the funnel in JSON and as Prometheus text, checked by promtool
{
    my ($st, $body, $h) = req('GET', '/bad/report');
    is($st, 200, 'GET of the report location: 200');
    like($h, qr{Content-Type: application/json}i, 'GET: JSON');

    ($st, $body, $h) = req('GET', '/bad/report?format=prometheus');
    is($st, 200, 'GET ?format=prometheus: 200');
    like($h, qr{Content-Type: text/plain; version=0\.0\.4}i,
         'Prometheus: the text format\'s type');

    my $s2 = row('multi', 'shard-2');
    my $b = row('bad');
    like($body, qr/^staged_update_reports_total\{track="multi",scope="shard-2",version="1\.9\.0",outcome="failed"\} $s2->{failed}$/m,
         'Prometheus: the failed reports of shard-2, as in the JSON');
    like($body, qr/^staged_update_report_failures_total\{track="bad",scope="track",version="2\.0\.0"\} $b->{failures}$/m,
         'Prometheus: the halt sample of "bad"');

  SKIP: {
        skip 'no promtool (Debian package prometheus)', 1
            unless qx(promtool --version 2>&1) =~ /promtool/;
        write_file("$root/metrics.txt", $body);
        my $out = qx(promtool check metrics < $root/metrics.txt 2>&1);
        is($?, 0, 'promtool check metrics accepts it') or diag($out);

        # the status carries the same funnels beside its counters

        ($st, $body) = req('GET', '/update/status?format=prometheus');
        like($body, qr/^staged_update_reports_total\{track="multi",scope="shard-2",version="1\.9\.0",outcome="failed"\} $s2->{failed}$/m,
             'status, Prometheus: the funnel of shard-2');
        write_file("$root/status.txt", $body);
        $out = qx(promtool check metrics < $root/status.txt 2>&1);
        is($?, 0, 'promtool accepts the status with the funnels')
            or diag($out);
    }

    my $doc = get_json('/update/status');
    my ($bad) = grep { $_->{track} eq 'bad' } @{ $doc->{tracks} };
    is_deeply($bad->{reports}, get_json('/bad/report'),
              'status, JSON: the funnel of "bad" as its report location has it');
}

unlike(read_file("$root/logs/error.log"), qr/\[(?:alert|crit|emerg)\]/,
       'no alert, crit or emerg in the error log');

done_testing();


# ---------------------------------------------------------------------------

sub token {
    my ($v, $exp, $client, $path, $key) = @_;
    my $mac = hmac_sha256("$v\n$exp\n$client\n$path", $key // $secret);
    return "$v~$exp~$client~" . encode_base64url($mac);
}

sub start {
    sys("$nginx -p $root/ -c $root/nginx.conf -e $root/logs/error.log");
    wait_port($base, "$root/logs/error.log");
    ($nginx_pid) = read_file("$root/logs/nginx.pid") =~ /(\d+)/;
}

sub stop {
    return unless $nginx_pid;
    kill 'QUIT', $nginx_pid;
    my $deadline = time + 10;
    while (kill(0, $nginx_pid) && time < $deadline) {
        sleep 0.05;
    }
    undef $nginx_pid;
}

# a reload is done when the old workers are gone and the new answer
sub wait_reload {
    my $deadline = time + 10;
    while (time < $deadline) {
        my $log = read_file("$root/logs/error.log");
        last if $log =~ /reconfiguring/ && $log =~ /gracefully shutting down/;
        sleep 0.05;
    }
}

sub req {
    my ($method, $path, $body) = @_;
    my $s = IO::Socket::SSL->new(PeerAddr => '127.0.0.1', PeerPort => $base,
                                 SSL_verify_mode => SSL_VERIFY_NONE)
        or die "connect: $SSL_ERROR\n";
    $body //= '';
    print $s "$method $path HTTP/1.1\r\nHost: localhost\r\n"
             . "Connection: close\r\nContent-Type: application/json\r\n"
             . 'Content-Length: ' . length($body) . "\r\n\r\n$body";
    local $/;
    my $res = <$s> // '';
    close $s;
    my ($head, $rest) = split /\r\n\r\n/, $res, 2;
    my ($st) = ($head // '') =~ m{^HTTP/1\.1 (\d+)};
    return ($st // 0, $rest // '', $head // '');
}

sub get_json {
    my ($path) = @_;
    my ($st, $body) = req('GET', $path);
    require JSON::PP;
    return eval { JSON::PP::decode_json($body) } // {};
}

sub state_of {
    my ($dir) = @_;
    my %t = tree($dir);
    return 'a mix' unless join("\0", sort keys %t)
                          eq join("\0", sort keys %V1);
    for (keys %t) { return 'a mix' unless $t{$_} eq $V1{$_} }
    return 'old';
}

