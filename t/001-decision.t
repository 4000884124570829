# Copyright (C) The ngx_http_staged_update_module authors
#
# The decision: no upgrade at or above the latest version, a mandatory
# upgrade below the minimum, otherwise the rule's (or the default's)
# percentage; and the same answer for the same client key.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases manifest write_file bucket);

# the release directories: a few small files with known bytes each

our %RELEASES = (
    '2.0.0' => {
        'README'              => "game 2.0.0\n",
        'bin/game'            => "#!/bin/sh\necho \"game 2.0.0\"\n",
        'data/pack 1.pak'     => "2.0.0 pack 1\n" x 64,
        'version.txt'         => "version=2.0.0\n",
        '.update/full.tar.gz' => "the full archive of 2.0.0\n",
    },
    '1.9.0' => {
        'bin/game'            => "#!/bin/sh\necho \"game 1.9.0\"\n",
        'data/pack 1.pak'     => "1.9.0 pack 1\n" x 48,
        'version.txt'         => "version=1.9.0\n",
        '.update/full.tar.gz' => "the full archive of 1.9.0\n",
    },
);

our $root = write_releases('releases-decision', \%RELEASES);

# SSI pages that ask the same question several times in one response:
# "A#A#B;" per client key, A from /update/check, B from another location
# of the same track; an upgrade is a manifest, no upgrade is nothing

our @KEYS = map { "client-$_" } 1 .. 40;

write_file("$root/ssi/sticky.html", join '', map {
    qq{<!--# include virtual="/update/check?version=1.6.0&client=$_" -->#}
    . qq{<!--# include virtual="/update/check?version=1.6.0&client=$_" -->#}
    . qq{<!--# include virtual="/other/check?version=1.6.0&client=$_" -->;\n}
} @KEYS);

write_file("$root/ssi/sticky-server.html", join '', map {
    qq{<!--# include virtual="/update/check?version=1.7.2&server=shard-1&client=$_" -->#}
    . qq{<!--# include virtual="/update/check?version=1.7.2&server=shard-1&client=$_" -->#}
    . qq{<!--# include virtual="/other/check?version=1.7.2&server=shard-1&client=$_" -->;\n}
} @KEYS);

write_file("$root/ssi/fresh.html", join '', map {
    qq{<!--# include virtual="/update/check?version=1.6.0&n=$_" -->;\n}
} 1 .. 40);

run_tests();

__DATA__

=== TEST 1: at the latest version: no upgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=2.0.0
--- error_code: 204
--- response_headers
Cache-Control: no-store
X-Update-Rule: game:latest
X-Update-Percent: 0.00
!Content-Type
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 2: above the latest version: never a downgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=2.10.3
--- error_code: 204
--- response_headers
Cache-Control: no-store
X-Update-Rule: game:latest
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 3: 2, 2.0 and 2.0.0.0 are the latest 2.0.0; 1.99 and 1.10 are below
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=2",
 "GET /update/check?version=2.0",
 "GET /update/check?version=2.0.0.0",
 "GET /update/check?version=1.99",
 "GET /update/check?version=1.10"]
--- error_code eval
[204, 204, 204, 200, 200]
--- response_body eval
["", "", "", main::manifest("2.0.0", 0), main::manifest("2.0.0", 0)]
--- no_error_log
[alert]
[emerg]



=== TEST 4: below the minimum: a mandatory upgrade to the latest version
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=0.9.12
--- error_code: 200
--- response_headers
Cache-Control: no-store
Content-Type: application/json
X-Update-Rule: game:minimum
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]



=== TEST 5: a 100% default upgrades every time
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
[("GET /update/check?version=1.2.3") x 20]
--- error_code eval
[(200) x 20]
--- response_body eval
[(main::manifest("2.0.0", 0)) x 20]
--- no_error_log
[alert]
[emerg]



=== TEST 6: a 100% default shows 100.00 and names the default
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.2.3
--- error_code: 200
--- response_headers
Cache-Control: no-store
Content-Type: application/json
X-Update-Rule: game:default
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 7: a 0% default never upgrades
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
[("GET /update/check?version=1.2.3") x 20]
--- error_code eval
[(204) x 20]
--- response_body eval
[("") x 20]
--- no_error_log
[alert]
[emerg]



=== TEST 8: a 0% default names the default, 0.00
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.2.3&client=abc
--- error_code: 204
--- response_headers
Cache-Control: no-store
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 9: without a minimum, no version is mandatory
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=0.0.1
--- error_code: 204
--- response_headers
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 10: at the minimum itself: not mandatory
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0
--- error_code: 204
--- response_headers
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 11: a range rule: its first version
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.5.0
--- error_code: 200
--- response_headers
X-Update-Rule: game:1.5.0-1.6.*
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 12: a range rule ending in a wildcard: a deep version inside it
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.6.999999999.7
--- error_code: 200
--- response_headers
X-Update-Rule: game:1.5.0-1.6.*
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 13: just below a range rule: the default
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.4.999
--- error_code: 204
--- response_headers
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 14: just above a range rule: the default
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.7
--- error_code: 204
--- response_headers
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 15: an exact rule 1.2.0 catches 1.2
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.2
--- error_code: 200
--- response_headers
X-Update-Rule: game:1.2.0
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 16: an exact rule 1.2.0 does not catch 1.2.0.1
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.2.0.1
--- error_code: 204
--- response_headers
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 17: a wildcard rule 1.9.*
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.9.42
--- error_code: 200
--- response_headers
X-Update-Rule: game:1.9.*
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 18: numeric order: a rule 1.9.* does not catch 1.10.0
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        rule     1.2.0  100%;
        rule     1.5.0-1.6.*  100%;
        rule     1.9.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.10.0
--- error_code: 204
--- response_headers
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 19: every rule kind at once, 0% and 100%
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        rule     1.2.0  0%;
        rule     1.5.0-1.6.*  0%;
        rule     1.9.*  0%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.2",
 "GET /update/check?version=1.2.1",
 "GET /update/check?version=1.4.9",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.6.3",
 "GET /update/check?version=1.7.0",
 "GET /update/check?version=1.9",
 "GET /update/check?version=1.10",
 "GET /update/check?version=0.1"]
--- error_code eval
[204, 200, 200, 204, 204, 200, 204, 200, 200]
--- response_body eval
["", main::manifest("2.0.0", 0), main::manifest("2.0.0", 0), "", "",
 main::manifest("2.0.0", 0), "", main::manifest("2.0.0", 0),
 main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]



=== TEST 20: rules that overlap with the same percentage are accepted
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
        rule     1.5.0-1.9.*  100%;
        rule     1.7.*  100%;
        rule     1.8.1  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.4",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.7.5",
 "GET /update/check?version=1.8.1",
 "GET /update/check?version=1.9.9",
 "GET /update/check?version=1.10"]
--- error_code eval
[204, 200, 200, 200, 200, 204]
--- no_error_log
[alert]
[emerg]



=== TEST 21: a rule "*" catches every version below the latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
        rule     *  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=0.0.0.1
--- error_code: 200
--- response_headers
X-Update-Rule: game:*
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 22: percentages are shown with 2 decimals: 0.5% is 0.50
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0.5%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.0
--- error_code: 200
--- response_headers
X-Rule: game:default
X-Pct: 0.50
--- no_error_log
[alert]
[emerg]



=== TEST 23: the demo table: a version in the range rule, 50%
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        auth_request_set $target $staged_update_target;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        add_header X-Target $target always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.6.0
--- error_code: 200
--- response_headers
X-Rule: game:1.5.0-1.9.*
X-Pct: 50.00
X-Target: 2.0.0
--- no_error_log
[alert]
[emerg]



=== TEST 24: the demo table: the top of the range rule
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        auth_request_set $target $staged_update_target;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        add_header X-Target $target always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.9.999
--- error_code: 200
--- response_headers
X-Rule: game:1.5.0-1.9.*
X-Pct: 50.00
X-Target: 2.0.0
--- no_error_log
[alert]
[emerg]



=== TEST 25: the demo table: the default, 10%
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        auth_request_set $target $staged_update_target;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        add_header X-Target $target always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.2.0
--- error_code: 200
--- response_headers
X-Rule: game:default
X-Pct: 10.00
X-Target: 2.0.0
--- no_error_log
[alert]
[emerg]



=== TEST 26: the demo table: 1.10.0 is above the rule 1.5.0-1.9.*
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.10.0
--- error_code: 200
--- response_headers
X-Rule: game:default
X-Pct: 10.00
--- no_error_log
[alert]
[emerg]



=== TEST 27: a server at its latest: no upgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.9.0&server=shard-1
--- error_code: 204
--- response_headers
Cache-Control: no-store
X-Update-Rule: shard-1:latest
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 28: a server above its latest but below the track's: no upgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.9.5&server=shard-1
--- error_code: 204
--- response_headers
Cache-Control: no-store
X-Update-Rule: shard-1:latest
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 29: a server below its minimum: a mandatory upgrade to its latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.4.0&server=shard-1
--- error_code: 200
--- response_headers
Cache-Control: no-store
Content-Type: application/json
X-Update-Rule: shard-1:minimum
X-Update-Percent: 100.00
--- response_body eval
main::manifest("1.9.0", 1, "shard-1")
--- no_error_log
[alert]
[emerg]



=== TEST 30: a server at the track's latest: no upgrade, by the track
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=2.0.0&server=shard-1
--- error_code: 204
--- response_headers
Cache-Control: no-store
X-Update-Rule: game:latest
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 31: a server above the track's latest: no downgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=7&server=shard-1
--- error_code: 204
--- response_headers
X-Update-Rule: game:latest
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 32: a server's rule: 1.7.* at 60%, to the server's latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        auth_request_set $target $staged_update_target;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        add_header X-Target $target always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.7.3
X-Server: shard-1
--- error_code: 200
--- response_headers
X-Rule: shard-1:1.7.*
X-Pct: 60.00
X-Target: 1.9.0
--- no_error_log
[alert]
[emerg]



=== TEST 33: a server's default, 20%: the track's rules do not apply to it
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        auth_request_set $target $staged_update_target;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        add_header X-Target $target always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.6.0
X-Server: shard-1
--- error_code: 200
--- response_headers
X-Rule: shard-1:default
X-Pct: 20.00
X-Target: 1.9.0
--- no_error_log
[alert]
[emerg]



=== TEST 34: at a server's minimum itself: its default, not mandatory
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.5
X-Server: shard-1
--- error_code: 200
--- response_headers
X-Rule: shard-1:default
X-Pct: 20.00
--- no_error_log
[alert]
[emerg]



=== TEST 35: a server without minimum= and default= takes the track's
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        server   shard-2  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-Rule $staged_update_rule always;
    }
--- request eval
["GET /update/check?version=0.9&server=shard-2",
 "GET /update/check?version=1.0&server=shard-2",
 "GET /update/check?version=1.8.9&server=shard-2",
 "GET /update/check?version=1.9.0&server=shard-2"]
--- error_code eval
[200, 204, 204, 204]
--- response_body eval
[main::manifest("1.9.0", 1, "shard-2"), "", "", ""]
--- no_error_log
[alert]
[emerg]



=== TEST 36: a sticky client key: the same answer each time, in any location of the track
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
    location = /other/check {
        staged_update game;
    }
    location /ssi/ {
        ssi on;
        ssi_types *;
        alias $TEST_NGINX_RELEASES/ssi/;
    }
--- request
GET /ssi/sticky.html
--- error_code: 200
--- response_body_like eval
# 40 keys, each "A#A#A;": three times the same answer; and at 50% some
# keys upgrade ("{" starts a manifest) and some do not ("##;")
qr/\A(?=.*^##;$)(?=.*^\{"version":"2\.0\.0")(?:([^#;]*)#\1#\1;\n){40}\z/ms
--- no_error_log
[alert]
[emerg]



=== TEST 37: a sticky client key with a server: the same answer each time
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
    location = /other/check {
        staged_update game;
    }
    location /ssi/ {
        ssi on;
        ssi_types *;
        alias $TEST_NGINX_RELEASES/ssi/;
    }
--- request
GET /ssi/sticky-server.html
--- error_code: 200
--- response_body_like eval
qr/\A(?=.*^##;$)(?=.*^\{"version":"1\.9\.0","mandatory":false,"server":"shard-1")(?:([^#;]*)#\1#\1;\n){40}\z/ms
--- no_error_log
[alert]
[emerg]



=== TEST 38: without a client key each request is drawn afresh
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
    location /ssi/ {
        ssi on;
        ssi_types *;
        alias $TEST_NGINX_RELEASES/ssi/;
    }
--- request
GET /ssi/fresh.html
--- error_code: 200
--- response_body_like eval
# 40 draws at 50%: both answers show up (a false failure has odds 2^-39)
qr/\A(?=.*^;$)(?=.*^\{"version":"2\.0\.0")(?:[^;]*;\n){40}\z/ms
--- no_error_log
[alert]
[emerg]



=== TEST 39: a range without a wildcard ends at its exact end: 1.5-1.9 stops at 1.9.0
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
        rule     1.5-1.9  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.4.999",
 "GET /update/check?version=1.5",
 "GET /update/check?version=1.8.999999999",
 "GET /update/check?version=1.9.0.0",
 "GET /update/check?version=1.9.0.1",
 "GET /update/check?version=1.9.1"]
--- error_code eval
[204, 200, 200, 200, 204, 204]
--- no_error_log
[alert]
[emerg]



=== TEST 40: a server's rule after many other server lines still applies
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
        rule     shard-1  1.5.*  100%;
        server   shard-2  latest=1.9.0;
        server   shard-3  latest=1.9.0;
        server   shard-4  latest=1.9.0;
        server   shard-5  latest=1.9.0;
        server   shard-6  latest=1.9.0;
        server   shard-7  latest=1.9.0;
        server   shard-8  latest=1.9.0;
        server   shard-9  latest=1.9.0;
        server   shard-10 latest=1.9.0;
        rule     shard-1  1.6.*  100%;
        rule     shard-10 1.6.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.5.0&server=shard-1",
 "GET /update/check?version=1.6.0&server=shard-1",
 "GET /update/check?version=1.6.0&server=shard-10",
 "GET /update/check?version=1.6.0&server=shard-2"]
--- error_code eval
[200, 200, 200, 204]
--- response_body eval
[main::manifest("1.9.0", 0, "shard-1"), main::manifest("1.9.0", 0, "shard-1"),
 main::manifest("1.9.0", 0, "shard-10"), ""]
--- no_error_log
[alert]
[emerg]



=== TEST 41: a server's rule after many other server lines: its trace
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
        rule     shard-1  1.5.*  100%;
        server   shard-2  latest=1.9.0;
        server   shard-3  latest=1.9.0;
        server   shard-4  latest=1.9.0;
        server   shard-5  latest=1.9.0;
        server   shard-6  latest=1.9.0;
        server   shard-7  latest=1.9.0;
        server   shard-8  latest=1.9.0;
        server   shard-9  latest=1.9.0;
        server   shard-10 latest=1.9.0;
        rule     shard-1  1.6.*  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.6.0&server=shard-1
--- error_code: 200
--- response_headers
X-Update-Rule: shard-1:1.6.*
X-Update-Percent: 100.00
--- response_body eval
main::manifest("1.9.0", 0, "shard-1")
--- no_error_log
[alert]
[emerg]



=== TEST 42: percentages are shown with 2 decimals: 0.01% is 0.01
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0.01%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.0
--- error_code: 200
--- response_headers
X-Rule: game:default
X-Pct: 0.01
--- no_error_log
[alert]
[emerg]



=== TEST 43: percentages are shown with 2 decimals: 12.5% is 12.50
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  12.5%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.0
--- error_code: 200
--- response_headers
X-Rule: game:default
X-Pct: 12.50
--- no_error_log
[alert]
[emerg]



=== TEST 44: percentages are shown with 2 decimals: 99.99% is 99.99
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  99.99%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.0
--- error_code: 200
--- response_headers
X-Rule: game:default
X-Pct: 99.99
--- no_error_log
[alert]
[emerg]



=== TEST 45: percentages are shown with 2 decimals: 7% is 7.00
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  7%;
    }
--- config
    location = /check {
        internal;
        staged_update_input version=$http_x_version server=$http_x_server
                            client=$http_x_client;
        staged_update game;
    }
    location = /probe {
        auth_request /check;
        auth_request_set $rule $sent_http_x_update_rule;
        auth_request_set $pct $sent_http_x_update_percent;
        add_header X-Rule $rule always;
        add_header X-Pct $pct always;
        empty_gif;
    }
--- request
GET /probe
--- more_headers
X-Version: 1.0
--- error_code: 200
--- response_headers
X-Rule: game:default
X-Pct: 7.00
--- no_error_log
[alert]
[emerg]



=== TEST 46: sticky buckets salt with the normalized target: "latest 2.0"
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
[map { "GET /update/check?version=1.6.0&client=k$_" } 1 .. 20]
--- error_code eval
# the buckets of "game/2.0.0/k<n>", whichever way 2.0.0 is written
[map { (main::bucket("game/2.0.0/k$_") < 5000) ? 200 : 204 } 1 .. 20]
--- no_error_log
[alert]
[emerg]



=== TEST 47: sticky buckets salt with the normalized target: "latest 2.0.0.0"
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
[map { "GET /update/check?version=1.6.0&client=k$_" } 1 .. 20]
--- error_code eval
# the buckets of "game/2.0.0/k<n>", whichever way 2.0.0 is written
[map { (main::bucket("game/2.0.0/k$_") < 5000) ? 200 : 204 } 1 .. 20]
--- no_error_log
[alert]
[emerg]
