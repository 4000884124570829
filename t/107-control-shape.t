# The control API and load shaping together (issues 9 and 10), end to end:
#
#  - a live rate cap: PATCH "rate" (and "burst") on the track and on a
#    server, the checks deferred at the new cap (204, Retry-After,
#    X-Update-Rule game:rate), GET shows the configured and the effective
#    rate, the ETag moves, the log says it, the state file keeps it; a
#    reload and a restart keep it, nginx.conf wins when it changes the
#    rate the override replaced, DELETE overrides restores nginx.conf's;
#    a bad rate, a burst alone, a scope with no cap: 400, nothing applied;
#  - a pause stops a ramp's clock: the step in force stays while paused
#    (status and explain say "held"), resume continues from the same step,
#    the paused seconds survive a restart, and a pause held at a restart
#    stays held.
#
# Plain Test::More: starts its own nginx (master + 2 workers, daemon) on
# 127.0.0.1, port TEST_NGINX_PORT + 170, with t/common/StagedUpdateStatus.pm
# (the demo's track "game" with caps, a ramped track, one with no cap).  The ramp's steps are seconds
# apart, from a time the test computes; every wait polls a condition with
# a bound.
#
#   TEST_NGINX_LOAD_MODULES=/path/ngx_http_staged_update_module.so \
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -v t/107-control-shape.t

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/common";

use File::Path qw(make_path);
use JSON::PP;
use POSIX qw(strftime);
use Test::More;
use Time::HiRes qw(time sleep);

use StagedUpdateStatus;

StagedUpdateStatus::skip_unless_nginx();

my $t = StagedUpdateStatus->new(port_offset => 170);
my $root = $t->root;
my $state = "$root/state";

make_path($state);
chmod 0777, $state;        # the workers (nobody when run as root) write it

$SIG{ALRM} = sub { die "the test took more than 240 s, giving up\n" };
alarm 240;

my $A = '/update/api/tracks/game';
my $R = '/update/api/tracks/ramped';

# the ramp: 0% 20% ... 100%, a step every $EVERY s from a little after now

my $EVERY = 4;
my $FROM = int(time) + 2;
my %conf = (rate => '1000/s', from => $FROM);

$t->start(conf());


# ---------------------------------------------------------------------------
# a live rate cap

{
    my $r = get($A);
    is_deeply($r->{json}{rate},
              { configured => '1000/s', effective => '1000/s', burst => 20 },
              'GET: the configured cap is in force');
    is($r->{json}{servers}[0]{rate}{configured}, '1000/s',
       'GET: the server\'s cap');
    ok(!exists $r->{json}{servers}[1]{rate}, 'a server with no cap has none');

    my @s = map { check("version=1.5.0&client=a$_")->{status} } 1 .. 5;
    is("@s", '200 200 200 200 200', 'under nginx.conf\'s cap: all granted');

    $r = patch($A, '{"rate": "1/m", "burst": 2}', '"0"');
    is($r->{status}, 200, 'PATCH rate and burst: 200');
    is($r->{headers}{etag}, '"1"', 'the ETag moves');
    is_deeply($r->{json}{rate},
              { configured => '1000/s', effective => '1/m', burst => 2 },
              'the answer shows the live cap beside the configured one');
    is($r->{json}{overrides}[0]{field}, 'rate', 'an override of the rate');
    is($r->{json}{overrides}[0]{value}, '1/m', 'its value');
    is($r->{json}{overrides}[0]{configured}, '1000/s',
       'and the rate it replaced');

    my ($granted, $deferred) = deferrals('version=1.5.0&client=b', 8,
                                         'game:rate');
    # the grants of the last milliseconds at the old cap still count

    ok($granted <= 3, "at most the burst of 2 and one more: $granted");
    is($deferred, 8 - $granted, 'the rest deferred by the live cap');
    ok($deferred >= 5, "deferred at the new cap: $deferred of 8");

    like($t->error_log,
         qr/staged_update_api: track "game": rate 1000\/s -> 1\/m burst 2 by 127\.0\.0\.1/,
         'the change is logged at notice');

    my $doc = decode_json(StagedUpdateStatus::read_file("$state/updates.json"));
    my ($ov) = grep { $_->{field} eq 'rate' }
                    @{ $doc->{tracks}{game}{overrides} };
    is_deeply([ @{$ov}{qw(value configured burst)} ], [ '1/m', '1000/s', 2 ],
              'the state file keeps the live rate');

    my $st = status_track('game');
    my ($cap) = grep { $_->{scope} eq 'game' } @{ $st->{shape}{caps} };
    is($cap->{rate}, 0.017, 'status: the cap in force (grants a second)');
    ok($cap->{deferred} >= $deferred,
       "status: the deferrals counted ($cap->{deferred})");
    like(explanation('version=1.5.0&client=x', 'update'),
         qr/"caps":\[\{"scope":"game","rate":0\.017,"burst":2,"deferred":[1-9]\d*\}/,
         'explain: the live cap and its deferrals');

    # a reload: the configuration first, then the state module again

    ok($t->reload(conf()), 'reload');
    is(get($A)->{json}{rate}{effective}, '1/m', 'a reload keeps the live rate');
    is(check('version=1.5.0&client=c1')->{status}, 204,
       'and the spent cap stays spent');

    # a restart: read from the state file, a fresh bucket

    $t->stop;
    $t->start(conf());
    is(get($A)->{json}{rate}{effective}, '1/m', 'a restart keeps the live rate');
    ($granted, $deferred) = deferrals('version=1.5.0&client=d', 6,
                                      'game:rate');
    ok($granted >= 2 && $granted <= 3 && $deferred == 6 - $granted,
       "after the restart, deferred at the live cap ($granted granted)");

    # "0/s" and null: back to nginx.conf

    $r = patch($A, '{"rate": "0/s"}');
    is($r->{json}{rate}{effective}, '1000/s', '"0/s": back to nginx.conf');
    is_deeply($r->{json}{overrides}, [], 'no override left');
    like($t->error_log,
         qr/track "game": rate 1\/m -> 1000\/s \(nginx\.conf\) by/,
         'logged');
    is(patch($A, '{"rate": "2/m"}')->{json}{rate}{effective}, '2/m',
       'a live rate again');
    is(patch($A, '{"rate": null}')->{json}{rate}{effective}, '1000/s',
       'null: back to nginx.conf');

    # the server's own cap

    $r = patch("$A/servers/shard-1", '{"rate": "1/m"}');
    is($r->{status}, 200, 'PATCH servers/shard-1 rate: 200');
    is($r->{json}{servers}[0]{rate}{effective}, '1/m',
       'the server\'s live cap');
    is($r->{json}{servers}[0]{rate}{burst}, 2,
       'without "burst", the default burst of the new rate');
    ($granted, $deferred) = deferrals('version=1.5.0&server=shard-1&client=e',
                                      6, 'shard-1:rate');
    ok($deferred >= 3, "deferred by the server's live cap ($deferred)");
    $r = del("$A/servers/shard-1/overrides");
    is($r->{json}{servers}[0]{rate}{effective}, '1000/s',
       'DELETE the server\'s overrides: its cap of nginx.conf');
    is($r->{json}{rate}{effective}, '1000/s', 'the track\'s is nginx.conf\'s');
}


# ---------------------------------------------------------------------------
# refused: 400 with a sentence, nothing applied

{
    my $etag = get($A)->{headers}{etag};

    for my $case (
        [ '{"rate": "fast"}', qr/"rate": a rate is/ ],
        [ '{"rate": 200}', qr/"rate": a rate is a string/ ],
        [ '{"rate": "2000000/s"}', qr/1 to 1000000/ ],
        [ '{"burst": 5}', qr/"burst" goes with a "rate"/ ],
        [ '{"rate": "5/s", "burst": 0}', qr/"burst": a burst is/ ],
        [ '{"rate": "5/s", "default": "500%"}', qr/"default"/ ],
        [ '{"rate": "5/s", "rules": {"9.9.*": "1%"}}', qr/has no rule/ ])
    {
        my $r = patch($A, $case->[0]);
        is($r->{status}, 400, "$case->[0]: 400");
        like($r->{json}{error} // '', $case->[1], "$case->[0]: says why");
    }

    my $r = patch("$A/servers/shard-2", '{"rate": "5/s", "paused": true}');
    is($r->{status}, 400, 'a server with no cap: 400');
    is($r->{json}{error},
       '"rate": server "shard-2" has no rate cap in nginx.conf; a live rate '
       . 'changes a configured cap: add "rate=" there first',
       'naming the server and what to do');

    $r = patch('/update/api/tracks/plain', '{"rate": "5/s"}');
    is($r->{status}, 400, 'a track with no cap: 400');
    like($r->{json}{error}, qr/track "plain" has no rate cap/, 'naming it');
    is(patch('/update/api/tracks/plain', '{"rate": null}')->{status}, 200,
       'taking away a live rate that is not there is no error');

    $r = get($A);
    is($r->{json}{rate}{effective}, '1000/s', 'nothing was applied');
    is($r->{headers}{etag}, $etag, 'the ETag did not move');
    is(get($A)->{json}{servers}[1]{paused}, JSON::PP::false,
       'nor the pause sent with a refused rate');
}


# ---------------------------------------------------------------------------
# nginx.conf wins, DELETE overrides restores nginx.conf's

{
    patch($A, '{"rate": "1/m"}');
    $conf{rate} = '500/s';
    ok($t->reload(conf()), 'reload with another rate');
    is(get($A)->{json}{rate}{effective}, '500/s',
       'nginx.conf changed the rate the override replaced: nginx.conf wins');
    like($t->error_log,
         qr/override of rate dropped: nginx.conf changed the rate it replaced \(nginx.conf wins\)/,
         'with a notice');

    patch($A, '{"rate": "1/m", "burst": 1}');
    my $r = del("$A/overrides");
    is($r->{status}, 200, 'DELETE overrides: 200');
    is_deeply($r->{json}{rate},
              { configured => '500/s', effective => '500/s', burst => 10 },
              'nginx.conf\'s cap and burst again');
    my @s = map { check("version=1.5.0&client=f$_")->{status} } 1 .. 4;
    is("@s", '200 200 200 200', 'and the checks granted');
}


# ---------------------------------------------------------------------------
# a pause stops a ramp's clock

{
    my %first = poll_pct('20.00', $FROM + $EVERY + 5);
    ok($first{'20.00'}, 'the ramp reached its second step (20%)');

    my $t_pause = time;
    my $r = patch($R, '{"paused": true}');
    is($r->{status}, 200, 'PATCH ramped paused: 200');

    my $ramp = ramp_status();
    is($ramp->{step}, 1, 'status: the step in force when paused');
    is($ramp->{held}, JSON::PP::true, 'status: the ramp is held');

    # past the time the next step would have begun: still the same step

    my $boundary = $FROM + 2 * $EVERY + 1;
    my %steps;
    while (time < $boundary) {
        $steps{ ramp_status()->{step} }++;
        sleep 0.2;
    }
    is_deeply([ keys %steps ], [ 1 ],
              'while paused the step does not move, past its end');

    my $x = explanation('version=1.5.0&client=k');
    like($x, qr/"ramps":\[\{"name":"r","step":1,"steps":6,"percent":"20.00",.*"held":true\}\]/,
         'explain: the step in force, held');

    $r = patch($R, '{"paused": false}');
    my $paused = time - $t_pause;
    is(check_ramped()->{pct}, '20.00', 'resume: the same step');
    $ramp = ramp_status();
    is($ramp->{held}, JSON::PP::false, 'status: no longer held');
    ok($ramp->{paused} >= int($paused) - 1 && $ramp->{paused} <= $paused + 1,
       "status: the paused seconds ($ramp->{paused}, about $paused)");

    # the next step comes later by the paused time

    my $t_resume = time;
    %first = poll_pct('40.00', $FROM + 2 * $EVERY + $paused + 5);
    ok($first{'40.00'}, 'then the next step (40%)');
    ok($first{'40.00'} >= $FROM + 2 * $EVERY + $ramp->{paused} - 0.1,
       sprintf('not before its time shifted by the pause (%.2f s early)',
               $FROM + 2 * $EVERY + $ramp->{paused} - $first{'40.00'}));

    # the paused seconds survive a restart

    my $p = ramp_status()->{paused};
    my $doc = decode_json(StagedUpdateStatus::read_file("$state/updates.json"));
    is($doc->{tracks}{ramped}{ramp_paused}, $p,
       'the state file keeps the paused seconds');

    $t->stop;
    $t->start(conf());
    is(ramp_status()->{paused}, $p, 'a restart keeps the paused seconds');
    is(ramp_status()->{held}, JSON::PP::false, 'and does not hold the ramp');

    # a pause held at a restart stays held

    patch($R, '{"halted": true}');
    my $step = ramp_status()->{step};
    ok($step >= 2 && $step < 5, "halted at step $step");

    $t->stop;
    $t->start(conf());
    $ramp = ramp_status();
    is($ramp->{held}, JSON::PP::true, 'a halt held at a restart stays held');
    is($ramp->{step}, $step, 'at the same step');
    ok($ramp->{paused} >= $p, 'the paused seconds went on counting');

    $r = patch($R, '{"halted": false}');
    is(ramp_status()->{step}, $step, 'lifted: the same step again');
}

# an override of another table entry: the default still follows its ramp

{
    my $r = patch($R, '{"rules": {"1.2.*": "50%"}}');
    is($r->{status}, 200, 'PATCH a rule of the ramped track');

    my $before = ramp_status()->{percent};
    my $h = check_ramped();
    my $got = get($R)->{json}{default}{effective};
    my $after = ramp_status()->{percent};

    ok($h->{pct} eq $before || $h->{pct} eq $after,
       "the check takes the ramp's step ($h->{pct}; the ramp $before, "
       . "then $after)");
    ok($h->{pct} ne '0.00', 'not a percentage read from the ramp\'s marker');
    ok($got eq "$before%" || $got eq "$after%",
       "GET: the ramp's step is the effective default ($got)");
    is(check('version=1.2.0&client=k', 'ramp')->{pct}, '50.00',
       'the overridden rule takes its live percentage');

    del("$R/overrides");
}

$t->stop;
done_testing();


# ---------------------------------------------------------------------------

# $n checks: how many were granted and deferred; every deferral says why
# and when to come back

sub deferrals {
    my ($args, $n, $rule) = @_;
    my ($granted, $deferred, $bad) = (0, 0, 0);

    for my $i (1 .. $n) {
        my $h = check("$args$i");

        if ($h->{status} == 200) {
            $granted++;
            next;
        }

        $deferred++;
        $bad++ unless $h->{status} == 204 && $h->{rule} eq $rule
                      && ($h->{retry} // '') =~ /^\d+$/ && $h->{retry} >= 1
                      && $h->{retry} <= 86400;
    }

    is($bad, 0, "every deferral: 204, Retry-After, X-Update-Rule $rule");

    return ($granted, $deferred);
}


sub poll_pct {
    my ($want, $deadline) = @_;
    my %first;

    while (time < $deadline) {
        my $now = time;
        my $p = check_ramped()->{pct} // 'none';
        $first{$p} //= $now;
        last if $p eq $want;
        sleep 0.05;
    }

    return %first;
}


sub status_track {
    my ($name) = @_;
    my ($tr) = grep { $_->{track} eq $name } @{ $t->status_json->{tracks} };
    return $tr;
}


sub ramp_status { status_track('ramped')->{shape}{ramps}[0] }


sub check {
    my ($args, $path) = @_;
    my $r = req('GET', '/' . ($path // 'update') . "/check?$args");

    return {
        status => $r->{status},
        pct    => $r->{headers}{'x-update-percent'},
        rule   => $r->{headers}{'x-update-rule'} // '',
        retry  => $r->{headers}{'retry-after'},
    };
}


sub check_ramped { check('version=1.5.0&client=k', 'ramp') }


sub explanation {
    my ($args, $path) = @_;
    my $r = req('GET', '/' . ($path // 'ramp') . "/explain?$args");
    die "explain $args: $r->{status}\n" unless $r->{status} == 200;
    return $r->{content};
}


sub req {
    my ($method, $path, $body, $headers) = @_;
    my ($status, $h, $content) = $t->get($path, method => $method,
                                         body => $body, headers => $headers);

    die "$method $path: $status $content\n" if $status >= 500;

    my $json = eval { decode_json($content) };

    return { status => $status, headers => $h, content => $content,
             json => $json };
}

sub get { req('GET', $_[0]) }

sub del { req('DELETE', $_[0]) }

sub patch {
    my ($path, $body, $etag) = @_;
    return req('PATCH', $path, $body, $etag ? { 'If-Match' => $etag } : {});
}


# the demo's track "game" with a cap, a ramped track, one with no cap

sub conf {
    my $rel = "$root/rel";
    my $from = strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $conf{from});

    return (zone => "state=$state/updates.json", tables => <<"TABLES",
        rate     $conf{rate};
        rule     1.5.*  100%;
        server   shard-1  latest=1.9.0  release=$rel/1.9.0
                          default=100%  rate=1000/s;
        server   shard-2  latest=1.9.0  release=$rel/1.9.0;
TABLES
            http => <<"HTTP", locations => <<"LOCATIONS");
    staged_update_track ramped {
        zone     updates;
        latest   2.0.0  $rel/2.0.0;
        ramp     r 0% 20% 40% 60% 80% 100% every ${EVERY}s from $from;
        default  ramp:r;
        rule     1.2.*  10%;
    }

    staged_update_track plain {
        zone     updates;
        latest   2.0.0  $rel/2.0.0;
    }
HTTP
        location = /ramp/check    { staged_update ramped; }
        location = /ramp/explain  { staged_update_explain ramped; }
        location = /update/explain { staged_update_explain game; }
        location /update/api/     { staged_update_api write=on; }
LOCATIONS
}
