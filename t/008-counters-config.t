# The "counters" line of a track block and staged_update_status at
# "nginx -t": what is refused, in the words of the module, and what is fine.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases);

our %RELEASES = (
    '2.0.0' => { 'version.txt' => "version=2.0.0\n" },
);

write_releases('releases-counters', \%RELEASES);

no_shuffle();
run_tests();

__DATA__

=== TEST 1: counters: an unknown parameter
--- http_config
    staged_update_zone updates 1m;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        counters versions=10 sketches=2;
    }
--- config
    location = /update/check { staged_update game; }
--- must_die
--- error_log
staged_update_track "game": "counters" has an invalid parameter "sketches=2"; expected "off", or versions=<n> and installations=<n>, numbers from 0 to 4096



=== TEST 2: counters: versions above 4096
--- http_config
    staged_update_zone updates 1m;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        counters versions=4097;
    }
--- config
    location = /update/check { staged_update game; }
--- must_die
--- error_log
staged_update_track "game": "counters" has an invalid parameter "versions=4097"



=== TEST 3: counters: more installations than versions
--- http_config
    staged_update_zone updates 1m;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        counters versions=4 installations=5;
    }
--- config
    location = /update/check { staged_update game; }
--- must_die
--- error_log
staged_update_track "game": "counters" has installations=5 above versions=4: only the versions counted can have installations



=== TEST 4: counters: twice
--- http_config
    staged_update_zone updates 1m;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        counters off;
        counters versions=4;
    }
--- config
    location = /update/check { staged_update game; }
--- must_die
--- error_log
staged_update_track "game": "counters" is duplicate



=== TEST 5: a zone that holds the tables but not the counters says how much it needs
--- http_config
    staged_update_zone updates 64k;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        counters versions=64 installations=8;
    }
--- config
    location = /update/check { staged_update game; }
--- must_die
--- error_log eval
qr{staged_update_zone "updates" of 64k is too small for the counters of its tracks: they take \d+ bytes besides the tables; use at least \d+k, or "counters off;" in the tracks}



=== TEST 6: staged_update_status takes no parameter
--- http_config
    staged_update_zone updates 1m;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location = /update/status { staged_update_status game; }
--- must_die
--- error_log
invalid number of arguments in "staged_update_status" directive



=== TEST 7: accepted: counters off, and the status says so
--- http_config
    staged_update_zone updates 32k;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        counters off;
    }
--- config
    location = /update/status { staged_update_status; }
--- request
GET /update/status
--- error_code: 200
--- response_body_like: ^\{"tracks":\[\{"track":"game","tables":\{"latest":"2\.0\.0","minimum":"0\.0\.0","default":0\.00,"rules":\[\],"servers":\[\]\},"live":\{"track":"game","etag":"\\"0\\"","paused":false,"halted":false,"overrides":\[\]\},"counters":false\}\]\}$
--- no_error_log
[alert]
[emerg]



=== TEST 8: accepted: the default counters fit a zone of 32k
--- http_config
    staged_update_zone updates 32k;
    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location = /update/check { staged_update game; }
    location = /update/status { staged_update_status; }
--- request eval
["GET /update/check?version=1.0", "GET /update/status?format=prometheus"]
--- error_code eval
[204, 200]
--- response_body_like eval
["", qr/^staged_update_checks_total\{track="game",scope="game",decision="none"\} 1$/m]
--- no_error_log
[alert]
[emerg]
