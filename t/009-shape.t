# Load shaping: the rate cap (a check that wins its draw but finds the cap
# spent is deferred: 204 with Retry-After, X-Update-Rule "<table>:rate",
# $staged_update_decision "deferred"), its burst, a server's cap inside
# its track's, mandatory upgrades deferred or exempt; ramps in force by
# the time of the check; and every refused rate and ramp.
#
# One worker here, and caps of a few grants a minute, so that the counts
# do not depend on timing; t/190-shape.t runs the caps across 2 workers,
# reloads, and ramp steps at their times.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases manifest write_file);
use POSIX qw(strftime);

our %RELEASES = (
    '2.0.0' => {
        'version.txt'         => "version=2.0.0\n",
        '.update/full.tar.gz' => "the full archive of 2.0.0\n",
    },
    '1.9.0' => {
        'version.txt'         => "version=1.9.0\n",
    },
);

our $root = write_releases('releases-shape', \%RELEASES);

# ramps that began 90 minutes ago (step 1 of steps an hour apart is in
# force for the next 30 minutes) and one that begins in an hour

sub utc { strftime('%Y-%m-%dT%H:%M:%SZ', gmtime(time + $_[0])) }

$ENV{TEST_NGINX_PAST} = utc(-90 * 60);
$ENV{TEST_NGINX_FUTURE} = utc(3600);

run_tests();

__DATA__

=== TEST 1: the burst is granted at once, the next check is deferred with Retry-After
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum 1.0.0;
        default 100%;
        rate 1/m burst=3;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=1.5&client=a",
 "GET /update/check?version=1.5&client=b",
 "GET /update/check?version=1.5&client=c",
 "GET /update/check?version=1.5&client=d",
 "GET /update/check?version=1.5&client=e"]
--- error_code eval
[200, 200, 200, 204, 204]
--- response_headers_like eval
["X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: game:rate\nRetry-After: [1-9][0-9]*",
 "X-Decision: deferred\nRetry-After: [1-9][0-9]*"]
--- no_error_log
[alert]
[emerg]



=== TEST 2: deferred clients get Retry-After spread: a later one comes back later
# 1/m: a slot each 47 s after the 59 s the bucket needs, plus a jitter of a fifth
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default 100%;
        rate 1/m burst=1;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=1.5",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5"]
--- error_code eval
[200, 204, 204, 204]
--- response_headers_like eval
["X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nRetry-After: 1[0-2][0-9]",
 "X-Decision: deferred\nRetry-After: 1[5-8][0-9]",
 "X-Decision: deferred\nRetry-After: 2[0-4][0-9]"]
--- no_error_log
[alert]
[emerg]



=== TEST 3: a client that loses its draw takes nothing from the cap
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default 0%;
        rule 1.5.* 100%;
        rate 1/m burst=2;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=1.4",
 "GET /update/check?version=1.4",
 "GET /update/check?version=1.4",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5"]
--- error_code eval
[204, 204, 204, 200, 200, 204]
--- response_headers_like eval
["X-Decision: none\n!Retry-After",
 "X-Decision: none\n!Retry-After",
 "X-Decision: none\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: game:rate\nRetry-After: [1-9][0-9]*"]
--- no_error_log
[alert]
[emerg]



=== TEST 4: mandatory upgrades are deferred too by default
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum 1.0.0;
        rate 1/m burst=2;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=0.5",
 "GET /update/check?version=0.5",
 "GET /update/check?version=0.5"]
--- error_code eval
[200, 200, 204]
--- response_headers_like eval
["X-Decision: mandatory\n!Retry-After",
 "X-Decision: mandatory\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: game:rate\nRetry-After: \\d+"]
--- no_error_log
[alert]
[emerg]



=== TEST 5: mandatory=exempt: mandatory upgrades pass and take nothing from the cap
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum 1.0.0;
        default 100%;
        rate 1/m burst=2 mandatory=exempt;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=0.5",
 "GET /update/check?version=0.5",
 "GET /update/check?version=0.5",
 "GET /update/check?version=0.5",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5"]
--- error_code eval
[200, 200, 200, 200, 200, 200, 204]
--- response_headers_like eval
["X-Decision: mandatory\n!Retry-After",
 "X-Decision: mandatory\n!Retry-After",
 "X-Decision: mandatory\n!Retry-After",
 "X-Decision: mandatory\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: game:rate\nRetry-After: [1-9][0-9]*"]
--- no_error_log
[alert]
[emerg]



=== TEST 6: a server's cap counts within its track's: a grant takes from both
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default 100%;
        rate 1/m burst=3;
        server shard-1 latest=1.9.0 release=$TEST_NGINX_RELEASES/1.9.0 rate=1/m burst=1;
        server shard-2 latest=1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=1.5&server=shard-1",
 "GET /update/check?version=1.5&server=shard-1",
 "GET /update/check?version=1.5&server=shard-2",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5&server=shard-2"]
--- error_code eval
[200, 204, 200, 200, 204, 204]
--- response_headers_like eval
["X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: shard-1:rate\nRetry-After: \\d+",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: game:rate\nRetry-After: [1-9][0-9]*",
 "X-Decision: deferred\nX-Update-Rule: game:rate\nRetry-After: [1-9][0-9]*"]
--- no_error_log
[alert]
[emerg]



=== TEST 7: a server's own cap without one on the track
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default 100%;
        server shard-1 latest=1.9.0 release=$TEST_NGINX_RELEASES/1.9.0 burst=2 rate=1/m;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=1.5&server=shard-1",
 "GET /update/check?version=1.5&server=shard-1",
 "GET /update/check?version=1.5&server=shard-1",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.5"]
--- error_code eval
[200, 200, 204, 200, 200, 200]
--- response_headers_like eval
["X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: shard-1:rate\nRetry-After: [1-9][0-9]*",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After",
 "X-Decision: upgrade\n!Retry-After"]
--- no_error_log
[alert]
[emerg]



=== TEST 8: ramps: the step in force now, for a default, a rule and a server's default
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp past 1% 100% every 1h from $TEST_NGINX_PAST;
        ramp future 100% every 1h from $TEST_NGINX_FUTURE;
        default ramp:past;
        rule 1.7.* ramp:future;
        server shard-1 latest=1.9.0 release=$TEST_NGINX_RELEASES/1.9.0 default=ramp:future;
        server shard-2 latest=1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=1.5",
 "GET /update/check?version=1.7.3",
 "GET /update/check?version=1.5&server=shard-1",
 "GET /update/check?version=1.5&server=shard-2"]
--- error_code eval
[200, 204, 204, 200]
--- response_headers_like eval
["X-Update-Rule: game:default\nX-Update-Percent: 100\\.00",
 "X-Update-Rule: game:1\\.7\\.\\*\nX-Update-Percent: 0\\.00",
 "X-Update-Rule: shard-1:default\nX-Update-Percent: 0\\.00",
 "X-Update-Rule: shard-2:default\nX-Update-Percent: 100\\.00"]
--- no_error_log
[alert]
[emerg]



=== TEST 9: a ramp and a cap together
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp past 0% 100% every 1h from $TEST_NGINX_PAST;
        default ramp:past;
        rate 1/m burst=1;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- request eval
["GET /update/check?version=1.5",
 "GET /update/check?version=1.5"]
--- error_code eval
[200, 204]
--- response_headers_like eval
["X-Decision: upgrade\n!Retry-After",
 "X-Decision: deferred\nX-Update-Rule: game:rate\nRetry-After: [1-9][0-9]*\nX-Update-Percent: 100\\.00"]
--- no_error_log
[alert]
[emerg]



=== TEST 10: rate: not a rate
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate 200;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "rate" has an invalid rate "200": a rate is a number of grants per second or minute



=== TEST 11: rate: zero
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate 0/s;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "rate" has an invalid rate "0/s": a rate is 1 to 1000000 grants per second or minute



=== TEST 12: rate: too high
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate 2000000/s;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "rate" has an invalid rate "2000000/s": a rate is 1 to 1000000



=== TEST 13: rate: per hour
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate 5/h;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
"rate" has an invalid rate "5/h"



=== TEST 14: rate: a bad burst
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate 5/s burst=0;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "rate" has an invalid burst "0": a burst is a number of grants from 1 to 1000000



=== TEST 15: rate: an unknown parameter
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate 5/s mandatory=never;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "rate" has an invalid parameter "mandatory=never", expected burst=<n>, mandatory=exempt or mandatory=defer



=== TEST 16: rate: twice
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate 5/s;
        rate 6/s;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "rate" is duplicate



=== TEST 17: rate: no value
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rate;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "rate" takes <n>/s [burst=<n>] [mandatory=exempt|defer]



=== TEST 18: server: a bad rate=
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        server shard-1 latest=1.9.0 release=$TEST_NGINX_RELEASES/1.9.0 rate=fast;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1" has an invalid rate= "fast": a rate is a number of grants per second or minute



=== TEST 19: server: burst= without rate=
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        server shard-1 latest=1.9.0 release=$TEST_NGINX_RELEASES/1.9.0 burst=5;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1" has burst= without rate=<n>/s



=== TEST 20: server: rate= twice
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        server shard-1 latest=1.9.0 release=$TEST_NGINX_RELEASES/1.9.0 rate=5/s rate=6/s;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1" has a repeated parameter "rate=6/s"



=== TEST 21: ramp: goes down
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 5% 2% every 24h from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": ramp "r" is invalid at "2%": a ramp never goes down: each step is at least the one before



=== TEST 22: ramp: a step above 100%
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 150% every 24h from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": ramp "r" is invalid at "150%": a percentage is between 0% and 100%



=== TEST 23: ramp: a negative step
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r -1% 5% every 24h from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": ramp "r" is invalid at "-1%": a percentage is a number followed by "%"



=== TEST 24: ramp: a malformed time
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 5% every 24h from 2026-12-01;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": ramp "r" is invalid at "2026-12-01": a time is UTC in the form 2026-12-01T00:00:00Z



=== TEST 25: ramp: a day its month does not have
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 5% every 24h from 2026-02-30T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
ramp "r" is invalid at "2026-02-30T00:00:00Z": a time has a day that its month does not have



=== TEST 26: ramp: a time out of range
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 5% every 24h from 2026-12-01T25:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
ramp "r" is invalid at "2026-12-01T25:00:00Z": a time has a month, day, hour, minute or second out of range



=== TEST 27: ramp: a malformed interval
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 5% every 24 from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": ramp "r" is invalid at "24": an interval is numbers with units s, m, h or d



=== TEST 28: ramp: a zero interval
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 5% every 0s from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
ramp "r" is invalid at "0s": an interval is at least 1s



=== TEST 29: ramp: no every ... from
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% 5% 10%;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": ramp "r" is invalid at "10%": a ramp ends with "every <interval> from <time>"



=== TEST 30: ramp: no steps
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r every 24h from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
ramp "r" is invalid at "every": a ramp starts with its percentages



=== TEST 31: ramp: no name
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp 1% 5% every 24h from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "ramp" needs a name of 1 to 64 letters



=== TEST 32: ramp: twice the same name
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        ramp r 1% every 1h from 2026-12-01T00:00:00Z;
        ramp r 2% every 1h from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": ramp "r" is duplicate



=== TEST 33: ramp: an unknown name
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default ramp:weekly;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
staged_update_track "game": "default" names ramp "ramp:weekly", which no "ramp" line above declares



=== TEST 34: ramp: used before it is declared
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        rule 1.5.* ramp:r;
        ramp r 1% every 1h from 2026-12-01T00:00:00Z;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
"rule" names ramp "ramp:r", which no "ramp" line above declares



=== TEST 35: ramp: an unknown name on a server
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        server shard-1 latest=1.9.0 release=$TEST_NGINX_RELEASES/1.9.0 default=ramp:x;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Decision $staged_update_decision always;
    }
--- must_die
--- error_log
"default=" names ramp "ramp:x"
