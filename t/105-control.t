# The control API (staged_update_api), live overrides and their state file,
# manual checks and the fleet command (issue 9), end to end.
#
# Plain Test::More: the file starts its own nginx (master + 2 workers,
# daemon) on 127.0.0.1, port TEST_NGINX_PORT + 150, and for the fleet a
# second one on TEST_NGINX_PORT + 151 (TEST_NGINX_PORT defaults to 1984).
# Every check location adds "X-Pid: $pid", so that the tests know which
# worker answered and can make sure both of them did.
#
#   TEST_NGINX_LOAD_MODULES=/path/ngx_http_staged_update_module.so \
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -v t/105-control.t
#
# What a user sees is asserted: the answers of the API and of the checks,
# the state file's contents, the error log's notices.  Nothing is timed:
# every wait polls for a condition with a bound.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Spec;
use FindBin;
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(time sleep);

my $WAIT = 10;             # seconds, at most, for nginx to start or reload

my $modules = $ENV{TEST_NGINX_LOAD_MODULES};

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set: it must name the '
                 . 'dynamic module ngx_http_staged_update_module.so (or be '
                 . 'empty for an nginx with the module built in)'
    unless defined $modules;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => "nginx binary \"$nginx\" is not executable"
    unless -f $nginx && -x _;

my @modules = map { File::Spec->rel2abs($_) } split ' ', $modules;

my $BASE = ($ENV{TEST_NGINX_PORT} || 1984) + 150;
my $CTL = "$FindBin::Bin/../tools/staged-update-ctl";

my $root = tempdir('staged-update-ctl-XXXXXX', TMPDIR => 1, CLEANUP => 1);
chmod 0755, $root;

my $rel = "$root/releases";
my $state = "$root/state";

make_path("$rel/2.0.0", "$rel/1.9.0", $state);
chmod 0777, $state;        # the workers (nobody when run as root) write it
write_file("$rel/2.0.0/version.txt", "2.0.0\n");
write_file("$rel/1.9.0/version.txt", "1.9.0\n");

my $json = JSON::PP->new->canonical;
my $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
my %masters;               # port => master pid, of the running nginx
my $PARENT = $$;

END {
    if ($$ == $PARENT) {
        local $?;
        stop_nginx($_) for keys %masters;
    }
}

$SIG{ALRM} = sub { die "the test took more than 240 s, giving up\n" };
alarm 240;

my $A = "http://127.0.0.1:$BASE/update/api/tracks/game";
my $C = "http://127.0.0.1:$BASE/update/check";

start_nginx($BASE);


# ---------------------------------------------------------------------------
# every call

{
    my $r = get("http://127.0.0.1:$BASE/update/api/tracks");
    is($r->{status}, 200, 'GET tracks: 200');
    is_deeply($r->{json}, { tracks => ['game'] }, 'GET tracks lists the track');

    $r = get($A);
    is($r->{status}, 200, 'GET tracks/game: 200');
    is($r->{headers}{etag}, '"0"', 'a fresh track has the ETag "0"');
    is($r->{json}{default}{configured}, '10.00%', 'configured default');
    is($r->{json}{default}{effective}, '10.00%', 'effective default');
    is($r->{json}{rules}[0]{pattern}, '1.5.0-1.9.*', 'the rule as written');
    is($r->{json}{servers}[0]{id}, 'shard-1', 'the server');
    is($r->{json}{paused}, JSON::PP::false, 'not paused');
    is_deeply($r->{json}{overrides}, [], 'no override');

    $r = patch($A, '{"default": "5%", "rules": {"1.5.0-1.9.*": "10%"}}',
               '"0"');
    is($r->{status}, 200, 'PATCH default and rule with If-Match: 200');
    is($r->{headers}{etag}, '"1"', 'the ETag moves to "1"');
    is($r->{json}{default}{effective}, '5.00%', 'default now 5%');
    is($r->{json}{default}{configured}, '10.00%', 'configured stays 10%');
    is($r->{json}{rules}[0]{effective}, '10.00%', 'rule now 10%');
    is(scalar @{ $r->{json}{overrides} }, 2, 'two overrides');
    is($r->{json}{overrides}[0]{from}, '127.0.0.1', 'from which address');
    like($r->{json}{overrides}[0]{when}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/,
         'when');

    my $h = check('version=1.6.0');
    is($h->{headers}{'x-update-rule'}, 'game:1.5.0-1.9.*', 'trace: the rule');
    is($h->{headers}{'x-update-percent'}, '10.00',
       'trace: the effective percentage');
    is($h->{headers}{'x-rule-var'}, 'game:1.5.0-1.9.*',
       '$staged_update_rule');
    is($h->{headers}{'x-percent-var'}, '10.00', '$staged_update_percent');

    my $x = explanation('version=1.6.0&client=k1');
    like($x, qr/\{"step":"override","table":"game","configured":"50.00","percent":"10.00","outcome":"the live percentage"\}\],"rule":"game:1.5.0-1.9.\*","percent":"10.00"/,
         'explain: the live percentage beside the configured one');

    $r = patch("$A/servers/shard-1", '{"paused": true}');
    is($r->{status}, 200, 'PATCH servers/shard-1 without If-Match: 200');
    is($r->{json}{servers}[0]{paused}, JSON::PP::true, 'shard-1 paused');

    $h = check('version=1.7.0&server=shard-1');
    is($h->{status}, 204, 'paused server: no upgrade');
    is($h->{headers}{'x-update-rule'}, 'shard-1:paused', 'trace: shard-1:paused');
    is($h->{headers}{'x-update-percent'}, '0.00', 'trace: 0.00 when paused');
    is($h->{headers}{'x-decision-var'}, 'none', '$staged_update_decision');

    $x = explanation('version=1.7.0&server=shard-1&client=k1');
    like($x, qr/\{"step":"override","table":"shard-1","configured":"60.00","percent":"0.00","outcome":"paused: no optional upgrade"\}\],"rule":"shard-1:paused","percent":"0.00",.*"decision":"none".*"upgrade":null\}$/,
         'explain: the pause, as the check applies it');
    $x = explanation('version=1.2.0&server=shard-1&client=k1');
    like($x, qr/"rule":"shard-1:minimum","percent":"100.00",.*"decision":"mandatory"/,
         'explain: a paused server still grants mandatory upgrades');
    unlike($x, qr/"step":"override"/, 'explain: no override step for them');

    # the status shows the overrides; explain is never counted

    my $st = get("http://127.0.0.1:$BASE/update/status")->{json}{tracks}[0];
    is_deeply([ map { ($_->{server} // '') . " $_->{field} $_->{value}" }
                    @{ $st->{live}{overrides} } ],
              [ ' default 5.00%', ' rule 10.00%', 'shard-1 paused 1' ],
              'status: the live overrides') or diag(explain($st->{live}));
    my $checks = join '/', map { $st->{checks}{$_} } qw(none upgrade mandatory);
    explanation('version=1.7.0&server=shard-1&client=k2') for 1 .. 5;
    explanation('version=0.9.0') for 1 .. 5;
    $st = get("http://127.0.0.1:$BASE/update/status")->{json}{tracks}[0];
    is(join('/', map { $st->{checks}{$_} } qw(none upgrade mandatory)),
       $checks, 'explain moves no counter');
    is(get("http://127.0.0.1:$BASE/update/status?format=prometheus")->{status},
       200, 'status: the Prometheus text with overrides');

    $h = check('version=1.6.0&client=k1');
    isnt($h->{headers}{'x-update-rule'}, 'game:paused',
         'the track itself is not paused');

    $r = del("$A/servers/shard-1/overrides");
    is($r->{status}, 200, 'DELETE servers/shard-1/overrides: 200');
    is($r->{json}{servers}[0]{paused}, JSON::PP::false, 'shard-1 resumed');
    is(scalar @{ $r->{json}{overrides} }, 2, "the track's overrides stay");

    $r = del("$A/overrides");
    is($r->{status}, 200, 'DELETE overrides: 200');
    is($r->{json}{default}{effective}, '10.00%', 'back to nginx.conf');
    is_deeply($r->{json}{overrides}, [], 'no override left');

    my $log = read_file("$root/n$BASE/error.log");
    like($log, qr/\[notice\].*staged_update_api: track "game": default 10\.00% -> 5\.00% by 127\.0\.0\.1/,
         'the change is logged at notice: old -> new, the address');
    like($log, qr/\[notice\].*track "game" server "shard-1": paused false -> true by 127\.0\.0\.1/,
         'a server\'s change is logged');
    like($log, qr/\[notice\].*default 5\.00% -> 10\.00% \(nginx\.conf\) by/,
         'the reset is logged');
}


# ---------------------------------------------------------------------------
# every error: JSON bodies, never a 5xx

{
    my @bad = (
        [ '{"bogus": 1}',                 qr/unknown field "bogus"/ ],
        [ '{"default": "5"}',             qr/ends with "%"/ ],
        [ '{"default": "150%"}',          qr/between 0% and 100%/ ],
        [ '{"default": 5}',               qr/is a string/ ],
        [ '{"default": "0.001%"}',        qr/at most 2 decimals/ ],
        [ '{"rules": {"9.*": "5%"}}',     qr/has no rule "9\.\*"/ ],
        [ '{"paused": "yes"}',            qr/true or false/ ],
        [ '{"paused": true',              qr/not JSON/ ],
        [ '[]',                           qr/JSON object/ ],
        [ '{}',                           qr/JSON object/ ],
        [ '',                             qr/empty/ ],
        [ '{"paused": true, "paused": false}', qr/not JSON/ ],
    );

    for my $b (@bad) {
        my $r = patch($A, $b->[0]);
        is($r->{status}, 400, "400 for '$b->[0]'");
        like($r->{json}{error} // '', $b->[1], '... with the reason');
    }

    my $r = patch($A, '{"paused": true, "default": "bad"}');
    is(get($A)->{json}{paused}, JSON::PP::false,
       'a PATCH with one bad field changes nothing');

    $r = patch("$A/servers/shard-1", '{"rules": {"1.5.0-1.9.*": "5%"}}');
    is($r->{status}, 400, "a rule of the track is not one of shard-1's");

    $r = patch("http://127.0.0.1:$BASE/update/api/tracks/nope",
               '{"paused": true}');
    is($r->{status}, 404, '404 for an unknown track');
    like($r->{json}{error}, qr/unknown track "nope"/, '... named');

    $r = patch("$A/servers/nope", '{"paused": true}');
    is($r->{status}, 404, '404 for an unknown server');
    like($r->{json}{error}, qr/no server "nope"/, '... named');

    $r = get("http://127.0.0.1:$BASE/update/api/what");
    is($r->{status}, 404, '404 for an unknown path');

    $r = patch("http://127.0.0.1:$BASE/update/ro/tracks/game",
               '{"paused": true}');
    is($r->{status}, 405, '405 for a PATCH with write=off');
    like($r->{json}{error}, qr/read-only/, '... read-only');

    $r = req('DELETE', "http://127.0.0.1:$BASE/update/ro/tracks/game/overrides");
    is($r->{status}, 405, '405 for a DELETE with write=off');

    $r = req('POST', $A, '{"paused": true}');
    is($r->{status}, 405, '405 for POST');
    is($r->{headers}{allow}, 'GET, HEAD, PATCH', '... with Allow');

    $r = req('DELETE', $A);
    is($r->{status}, 405, '405 for DELETE on the track itself');

    is(get("http://127.0.0.1:$BASE/update/ro/tracks/game")->{status}, 200,
       'write=off reads');

    $r = patch($A, '{"paused": true}' . (' ' x 9000));
    is($r->{status}, 413, '413 for a body over client_body_buffer_size');
    like($r->{json}{error}, qr/larger than 8192 bytes/, '... says the limit');

    $r = req('PATCH', $A, '{"paused": true}' . (' ' x 9000),
             { 'Transfer-Encoding' => 'chunked' });
    is($r->{status}, 413, '413 for a chunked body over the limit');

    my $etag = get($A)->{headers}{etag};
    patch($A, '{"default": "20%"}');
    $r = patch($A, '{"default": "30%"}', $etag);
    is($r->{status}, 412, '412 for a stale If-Match');
    like($r->{json}{error}, qr/ETag is now/, '... with the ETag');
    is(get($A)->{json}{default}{effective}, '20.00%',
       'the stale write changed nothing');

    $r = patch($A, '{"default": "30%"}', '*');
    is($r->{status}, 200, 'If-Match: * matches');
    del("$A/overrides");

    my @alerts = grep { /\[(alert|crit|emerg)\]/ }
                 split /\n/, read_file("$root/n$BASE/error.log");
    is(scalar @alerts, 0, 'no alert in the error log') or diag("@alerts");
}


# ---------------------------------------------------------------------------
# two writers racing with the same If-Match: exactly one wins

{
    my $wins = 0;
    my $rounds = 20;

    for my $round (1 .. $rounds) {
        my $etag = get($A)->{headers}{etag};
        my $go = time + 0.2;
        my @kids;

        for my $w (1, 2) {
            my $pid = fork // die "fork: $!";

            if ($pid == 0) {
                my $h = HTTP::Tiny->new(timeout => 10);
                sleep 0.001 while time < $go;
                my $r = $h->request('PATCH', $A, {
                    content => qq({"default": "${w}%"}),
                    headers => { 'If-Match' => $etag } });
                POSIX::_exit($r->{status} == 200 ? 0
                             : $r->{status} == 412 ? 1 : 2);
            }

            push @kids, $pid;
        }

        my @rc = map { waitpid($_, 0); $? >> 8 } @kids;
        my @sorted = sort @rc;

        $wins++ if "@sorted" eq '0 1';
    }

    is($wins, $rounds, 'each time, one writer 200 and the other 412');
    del("$A/overrides");
}


# ---------------------------------------------------------------------------
# under load with 2 workers: a pause holds at the very next check in every
# worker; a percentage change moves the upgraded share

{
    my @conns = worker_connections();
    is(scalar(keys %{{ map { $_->[1] => 1 } @conns }}), 2,
       'connections to both workers');

    my @load = map { load_child() } 1 .. 2;

    patch($A, '{"default": "100%"}');

    my $late = 0;

    for my $round (1 .. 15) {
        patch($A, '{"paused": true}');

        for my $c (@conns) {
            my $r = $c->[0]->get("$C?version=1.2.0");
            $late++ unless $r->{status} == 204
                           && $r->{headers}{'x-update-rule'} eq 'game:paused';
        }

        patch($A, '{"paused": false}');

        for my $c (@conns) {
            my $r = $c->[0]->get("$C?version=1.2.0");
            $late++ unless $r->{status} == 200;
        }
    }

    is($late, 0, 'no check after a write returned missed it, in 2 workers, '
                 . 'over 15 pauses and resumes under load');

    for my $p ([ '30%', 0.30 ], [ '70%', 0.70 ]) {
        patch($A, qq({"default": "$p->[0]"}));

        my ($n, $up) = (2000, 0);

        for my $i (1 .. $n) {
            my $c = $conns[$i % @conns][0];
            $up++ if $c->get("$C?version=1.2.0")->{status} == 200;
        }

        my $sd = sqrt($n * $p->[1] * (1 - $p->[1]));
        my ($lo, $hi) = ($n * $p->[1] - 5 * $sd, $n * $p->[1] + 5 * $sd);

        ok($up >= $lo && $up <= $hi,
           "default $p->[0]: $up of $n upgraded, within 5 sd "
           . sprintf('[%.0f, %.0f]', $lo, $hi));
    }

    kill 'KILL', @load;
    waitpid($_, 0) for @load;

    del("$A/overrides");
}


# ---------------------------------------------------------------------------
# manual checks at 0%, 1%, paused, halted

{
    patch($A, '{"default": "1%"}');

    my ($manual, $plain) = (0, 0);

    for my $i (1 .. 40) {
        $manual++ if check("version=1.2.0&client=m$i&manual=1")->{status} == 200;
        $plain++ if check("version=1.2.0&client=m$i")->{status} == 200;
    }

    is($manual, 40, 'manual at 1%: every check is an upgrade');
    ok($plain < 10, "without manual at 1%: $plain of 40");

    is(check('version=1.2.0&manual=true')->{status}, 200, 'manual=true');
    like(explanation('version=1.2.0&client=m1&manual=1'),
         qr/"draw":\{"type":"manual","threshold":100,"compare":"a manual check skips the draw"\},"decision":"upgrade"/,
         'explain: a manual check skips the draw');
    is(check('version=1.2.0&manual=yes')->{status}, 200, 'manual=yes');

    patch($A, '{"default": "0%"}');
    is(check('version=1.2.0&manual=1')->{status}, 204, 'manual at 0%: none');

    patch($A, '{"default": "100%", "paused": true}');
    is(check('version=1.2.0&manual=1')->{status}, 204, 'manual when paused: none');
    is(check('version=0.9.0&manual=1')->{status}, 200,
       'paused: a mandatory upgrade is still granted');

    patch($A, '{"paused": false, "halted": true}');
    my $h = check('version=1.2.0&manual=1');
    is($h->{status}, 204, 'manual when halted: none');
    is($h->{headers}{'x-update-rule'}, 'game:halted', 'trace: game:halted');
    $h = check('version=0.9.0&manual=1');
    is($h->{status}, 204, 'halted: not even a mandatory upgrade');
    like(explanation('version=0.9.0&manual=1'),
         qr/"outcome":"halted: no upgrade"\}\],"rule":"game:halted","percent":"0.00",.*"decision":"none"/,
         'explain: the halt');

    $h = check('version=1.7.0&server=shard-1');
    is($h->{headers}{'x-update-rule'}, 'game:halted',
       "the track's halt holds for its servers");

    del("$A/overrides");
}


# ---------------------------------------------------------------------------
# persistence: HUP, a changed zone size, stop and start

my $SET = '{"default": "7%", "paused": true, "rules": {"1.5.0-1.9.*": "3%"}}';

sub overrides_are {
    my ($what) = @_;

    my $r = get($A);
    is($r->{json}{default}{effective}, '7.00%', "$what: the default");
    is($r->{json}{paused}, JSON::PP::true, "$what: paused");
    is($r->{json}{rules}[0]{effective}, '3.00%', "$what: the rule");
    is(check('version=1.2.0')->{headers}{'x-update-rule'}, 'game:paused',
       "$what: the check is paused");
}

{
    patch($A, $SET);
    my $etag = get($A)->{headers}{etag};

    my $doc = decode_json(read_file("$state/updates.json"));
    is(scalar @{ $doc->{tracks}{game}{overrides} }, 3,
       'the state file holds the three overrides');

    reload_nginx($BASE);
    overrides_are('after HUP');

    reload_nginx($BASE, zone => 256);
    overrides_are('after a changed zone size');
    is(get($A)->{headers}{etag}, $etag, '... and the same ETag');

    stop_nginx($BASE);
    start_nginx($BASE, zone => 256);
    overrides_are('after stop and start');

    # nginx.conf wins: the default it replaced changed

    reload_nginx($BASE, zone => 256, default => '15%');
    my $r = get($A);
    is($r->{json}{default}{effective}, '15.00%',
       'nginx.conf changed the default: it wins');
    is($r->{json}{rules}[0]{effective}, '3.00%', 'the rule override stays');
    like(read_file("$root/n$BASE/error.log"),
         qr/\[notice\].*track "game": override of default dropped: nginx\.conf changed/,
         'the dropped override is logged');
    is(scalar @{ decode_json(read_file("$state/updates.json"))
                     ->{tracks}{game}{overrides} }, 2,
       'and the state file no longer has it');

    reload_nginx($BASE, zone => 256);
    del("$A/overrides");
}


# ---------------------------------------------------------------------------
# a worker killed with SIGKILL during a burst of writes

{
    my $writer = fork // die "fork: $!";

    if ($writer == 0) {
        my $h = HTTP::Tiny->new(timeout => 5);
        for my $i (1 .. 100000) {
            $h->request('PATCH', $A,
                        { content => sprintf('{"default": "%d%%"}', $i % 90) });
        }
        POSIX::_exit(0);
    }

    my $killed = 0;
    my $deadline = time + 60;

    while ($killed < 8 && time < $deadline) {
        my @w = workers($BASE);

        if (@w < 2) {
            sleep 0.01;
            next;
        }

        # wait for the writer's changes to move the ETag, then kill
        my $e0 = get($A)->{headers}{etag} // '';
        my $until = time + $WAIT;
        sleep 0.01 while (get($A)->{headers}{etag} // '') eq $e0
                         && time < $until;

        $killed += kill 'KILL', $w[0];
        sleep 0.01 while time < $until
                         && (workers($BASE) < 2
                             || grep { $_ == $w[0] } workers($BASE));
    }

    kill 'KILL', $writer;
    waitpid $writer, 0;

    ok($killed >= 8, "$killed workers killed during the writes");

    my $live = get($A)->{json};
    my $doc = eval { decode_json(read_file("$state/updates.json")) };
    ok($doc, 'the state file is whole JSON');
    is($doc->{tracks}{game}{overrides}[0]{value}, $live->{default}{effective},
       'and holds the live value');

    stop_nginx($BASE);
    start_nginx($BASE);
    is(get($A)->{json}{default}{effective}, $live->{default}{effective},
       'after a restart the last change is there');
    del("$A/overrides");
}


# ---------------------------------------------------------------------------
# a truncated and a corrupt state file: nginx serves from nginx.conf

for my $case ([ 'truncated', sub { substr($_[0], 0, length($_[0]) / 2) } ],
              [ 'corrupt', sub { "\x00\xff{garbage" } ])
{
    patch($A, $SET);
    stop_nginx($BASE);

    my $text = read_file("$state/updates.json");
    write_file("$state/updates.json", $case->[1]->($text));
    unlink "$state/updates.json.bad";

    start_nginx($BASE);

    is(check('version=2.0.0')->{status}, 204, "$case->[0] state file: serving");
    is_deeply(get($A)->{json}{overrides}, [], '... from nginx.conf');
    like(read_file("$root/n$BASE/error.log"),
         qr/\[error\].*state file "\Q$state\E\/updates\.json" is corrupt/,
         '... the error names the file');
    ok(-f "$state/updates.json.bad", '... the bad file is kept aside');

    patch($A, '{"halted": true}');
    is(get($A)->{json}{halted}, JSON::PP::true, '... and changes work again');
    del("$A/overrides");
}


# ---------------------------------------------------------------------------
# the fleet command: two instances, one of them stopped

SKIP: {
    skip 'python3 is not installed', 1 unless -x '/usr/bin/python3';

    my $B2 = $BASE + 1;
    start_nginx($B2, state => 'second.json');

    my @n = ('-n', "http://127.0.0.1:$BASE", '-n', "http://127.0.0.1:$B2");

    my ($rc, $out) = ctl(@n, 'set', 'game', '{"paused": true}');
    is($rc, 0, 'fleet set: exit 0') or diag($out);
    is(() = $out =~ /ok ETag/g, 2, 'both nodes read back ok');
    is(get("http://127.0.0.1:$B2/update/api/tracks/game")->{json}{paused},
       JSON::PP::true, 'the second node is paused');

    ($rc, $out) = ctl(@n, 'set', 'game', '--server', 'shard-1',
                      '{"default": "5%"}');
    is($rc, 0, 'fleet set on a server: exit 0') or diag($out);
    like($out, qr/server shard-1 paused=false halted=false default=5\.00%/,
         '... shows the server');

    # one node changed behind the fleet's back
    patch("http://127.0.0.1:$B2/update/api/tracks/game", '{"halted": true}');
    ($rc, $out) = ctl(@n, 'get', 'game');
    is($rc, 1, 'fleet get with a disagreeing node: exit 1');
    like($out, qr/DISAGREES/, '... the node is reported');

    ($rc, $out) = ctl(@n, 'status');
    is($rc, 0, 'fleet status: exit 0') or diag($out);
    is(() = $out =~ /"halted": true/g, 1, '... one node shows its halt');
    ($rc, $out) = ctl(@n, 'explain', '--version', '1.7.3', '--server',
                      'shard-1');
    is($rc, 0, 'fleet explain: exit 0') or diag($out);
    is(() = $out =~ /"rule": "game:halted"/g, 1,
       '... the halted node explains its halt');
    is(() = $out =~ /"rule": "game:paused"/g, 1,
       '... the paused one its pause');

    ($rc, $out) = ctl(@n, 'reset', 'game');
    is($rc, 0, 'fleet reset: exit 0') or diag($out);
    is_deeply(get("http://127.0.0.1:$B2/update/api/tracks/game")->{json}{overrides},
              [], 'the second node is back to nginx.conf');

    stop_nginx($B2);

    ($rc, $out) = ctl(@n, 'set', 'game', '{"paused": true}');
    is($rc, 1, 'fleet set with a stopped node: exit 1');
    like($out, qr/127\.0\.0\.1:$B2\s+FAILED: unreachable/,
         '... the stopped node is reported');
    like($out, qr/127\.0\.0\.1:$BASE\s+ok/, '... the other took it');

    ($rc, $out) = ctl(@n, 'get', 'game');
    is($rc, 1, 'fleet get with a stopped node: exit 1');
    del("$A/overrides");
}

stop_nginx($BASE);

done_testing();


# ---------------------------------------------------------------------------

sub ctl {
    my @args = @_;

    my $out = `python3 $CTL @{[ map { "'$_'" } @args ]} 2>&1`;

    return ($? >> 8, $out);
}


sub req {
    my ($method, $url, $body, $headers) = @_;

    my $r = $http->request($method, $url, {
        (defined $body ? (content => $body) : ()),
        headers => $headers || {} });

    die "$method $url: $r->{content}\n" if $r->{status} == 599;
    die "$method $url: a 5xx: $r->{status} $r->{content}\n"
        if $r->{status} >= 500;

    $r->{json} = eval { decode_json($r->{content}) } if $r->{content};

    return $r;
}

sub get { req('GET', $_[0]) }

sub del { req('DELETE', $_[0]) }

sub patch {
    my ($url, $body, $etag) = @_;

    return req('PATCH', $url, $body, $etag ? { 'If-Match' => $etag } : {});
}

sub check { req('GET', "$C?$_[0]") }

sub explanation {
    my $r = req('GET', "http://127.0.0.1:$BASE/update/explain?$_[0]");
    die "explain $_[0]: $r->{status}\n" unless $r->{status} == 200;
    (my $body = $r->{content}) =~ s/\n\z//;
    return $body;
}


# keep-alive connections until both workers answered on one of them:
# [ client, worker pid ]

sub worker_connections {
    my (@conns, %pids);
    my $deadline = time + $WAIT;

    while (keys %pids < 2 && time < $deadline) {
        my $h = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
        my $r = $h->get("$C?version=2.0.0");
        my $pid = $r->{headers}{'x-pid'};

        next if !$pid || $pids{$pid}++;

        push @conns, [ $h, $pid ];
    }

    return @conns;
}


sub load_child {
    my $pid = fork // die "fork: $!";

    return $pid if $pid;

    my $h = HTTP::Tiny->new(keep_alive => 1, timeout => 5);
    $h->get("$C?version=1.2.0&client=load$_") for 1 .. 1_000_000;
    POSIX::_exit(0);
}


sub conf_text {
    my ($port, %o) = @_;

    my $load = join '', map { "load_module $_;\n" } @modules;
    my $zone = $o{zone} || 128;
    my $file = $o{state} || 'updates.json';
    my $default = $o{default} || '10%';
    my $dir = "$root/n$port";

    return <<"CONF";
$load
worker_processes 2;
daemon on;
pid $dir/nginx.pid;
error_log $dir/error.log notice;

events {
    worker_connections 256;
}

http {
    access_log off;

    client_body_temp_path $dir/tmp/body;
    proxy_temp_path       $dir/tmp/proxy;
    fastcgi_temp_path     $dir/tmp/fastcgi;
    uwsgi_temp_path       $dir/tmp/uwsgi;
    scgi_temp_path        $dir/tmp/scgi;

    keepalive_requests 1000000;
    client_body_buffer_size 8k;

    staged_update_zone updates ${zone}k state=$state/$file;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $rel/2.0.0;
        minimum  1.0.0;
        default  $default;
        rule     1.5.0-1.9.*  50%;

        server   shard-1  latest=1.9.0  release=$rel/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }

    server {
        listen 127.0.0.1:$port;

        location = /update/check {
            staged_update game;
            add_header X-Pid \$pid always;
            add_header X-Rule-Var \$staged_update_rule always;
            add_header X-Percent-Var \$staged_update_percent always;
            add_header X-Decision-Var \$staged_update_decision always;
        }

        location = /update/explain {
            staged_update_explain game;
        }

        location = /update/status {
            staged_update_status;
        }

        location /update/api/ {
            staged_update_api write=on;
        }

        location /update/ro/ {
            staged_update_api;
        }
    }
}
CONF
}


sub start_nginx {
    my ($port, %o) = @_;

    my $dir = "$root/n$port";
    make_path("$dir/tmp");
    write_file("$dir/nginx.conf", conf_text($port, %o));
    unlink "$dir/nginx.pid";

    # what nginx says on its stderr at start is in the error log too
    my $rc = system("'$nginx' -p '$dir/' -c '$dir/nginx.conf' "
                    . "-e '$dir/error.log' 2>>'$dir/stderr.log'");
    die "nginx did not start:\n" . read_file("$dir/error.log") if $rc;

    my $deadline = time + $WAIT;
    my $master;

    while (time < $deadline) {
        ($master) = (read_file("$dir/nginx.pid") // '') =~ /(\d+)/;
        $masters{$port} = $master if $master;
        last if $master && workers($port) == 2
                && HTTP::Tiny->new->get("http://127.0.0.1:$port/update/check?version=2.0.0")
                       ->{status} == 204;
        sleep 0.05;
    }

    die "nginx on $port did not start\n" unless $master;
}


sub reload_nginx {
    my ($port, %o) = @_;

    my $dir = "$root/n$port";
    my %old = map { $_ => 1 } workers($port);

    write_file("$dir/nginx.conf", conf_text($port, %o));
    kill 'HUP', $masters{$port};

    my $deadline = time + $WAIT;
    sleep 0.05 while time < $deadline
                     && (grep({ $old{$_} } workers($port))
                         || workers($port) < 2);

    $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
}


sub stop_nginx {
    my ($port) = @_;

    my $master = delete $masters{$port} or return;
    my @w = workers($port, $master);

    kill 'QUIT', $master;

    my $deadline = time + $WAIT;
    sleep 0.05 while time < $deadline && grep { kill 0, $_ } $master, @w;

    $http = HTTP::Tiny->new(keep_alive => 1, timeout => 10);
}


sub workers {
    my ($port, $master) = @_;

    $master //= $masters{$port} or return ();

    my @pids;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;

        next unless $line =~ /^(\d+) \(.*\) (\S) (\d+) /s;
        next if $2 eq 'Z' || $3 != $master;

        push @pids, $1;
    }

    @pids = sort { $a <=> $b } @pids;

    return @pids;
}


sub write_file {
    my ($path, $data) = @_;

    open my $fh, '>', $path or die "$path: $!";
    binmode $fh;
    print $fh $data;
    close $fh;
}


sub read_file {
    my ($path) = @_;

    open my $fh, '<', $path or return undef;
    binmode $fh;
    local $/;
    return <$fh>;
}
