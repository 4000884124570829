# Copyright (C) The ngx_http_staged_update_module authors
#
# Input sources: staged_update_input takes the version, the server ID and
# the client key from headers, cookies, path segments, renamed query
# arguments or any value with variables.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases manifest write_file $GAME_TRACK
                        default_http_config);

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

our $root = write_releases('releases-input', \%RELEASES);

# an SSI page that asks the same question with the same client key in two
# locations, one reading it from $arg_client, the other through a value
# with variables: "A#B;" per key

our @KEYS = map { "key-$_" } 1 .. 40;

write_file("$root/ssi/sticky.html", join '', map {
    qq{<!--# include virtual="/update/check?version=1.6.0&client=$_" -->#}
    . qq{<!--# include virtual="/cv/check?version=1.6.0&c=$_" -->;\n}
} @KEYS);

# a block without an http_config of its own runs with the track "game":
# $GAME_TRACK in t/common/StagedUpdateTest.pm

add_block_preprocessor(sub { default_http_config(shift, $GAME_TRACK) });

run_tests();

__DATA__

=== TEST 1: a header, a cookie: a mandatory upgrade with a server
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check
--- more_headers
X-Version: 1.4.0
Cookie: theme=dark; srv=shard-1
--- error_code: 200
--- response_headers
X-Update-Rule: shard-1:minimum
--- response_body eval
main::manifest("1.9.0", 1, "shard-1")
--- no_error_log
[alert]
[emerg]



=== TEST 2: a header: the query arguments are not read
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check?version=2.0.0&server=shard-9&client=bad/key
--- more_headers
X-Version: 0.9
--- error_code: 200
--- response_headers
X-Update-Rule: game:minimum
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]



=== TEST 3: a header: none is a missing version, the query arguments are not read
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check?version=0.9
--- error_code: 400
--- response_body
{"error":"version is missing"}
--- no_error_log
[alert]
[emerg]



=== TEST 4: a header: empty is a missing version
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check?version=0.9
--- more_headers
X-Version:
--- error_code: 400
--- response_body
{"error":"version is missing"}
--- no_error_log
[alert]
[emerg]



=== TEST 5: a header: a malformed version
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check
--- more_headers
X-Version: 1.2.x
--- error_code: 400
--- response_body
{"error":"version is malformed: 1 to 4 dot-separated numbers of at most 9 digits, such as 1.2.3"}
--- no_error_log
[alert]
[emerg]



=== TEST 6: a cookie: a malformed server ID
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check
--- more_headers
X-Version: 1.4.0
Cookie: srv=shard/1
--- error_code: 400
--- response_body
{"error":"server is malformed: 1 to 64 letters, digits, '.', '_', '-' or ':'"}
--- no_error_log
[alert]
[emerg]



=== TEST 7: a cookie: an unknown server
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check
--- more_headers
X-Version: 1.4.0
Cookie: srv=shard-9
--- error_code: 400
--- response_body
{"error":"unknown server"}
--- no_error_log
[alert]
[emerg]



=== TEST 8: a header: a malformed client key
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check
--- more_headers
X-Version: 2.0.0
X-Client: a/b
--- error_code: 400
--- response_body
{"error":"client is malformed: 1 to 128 letters, digits, '.', '_', '-' or ':'"}
--- no_error_log
[alert]
[emerg]



=== TEST 9: a header at the latest version
--- config
    location = /update/check {
        staged_update_input version=$http_x_version server=$cookie_srv
                            client=$http_x_client;
        staged_update game;
    }
--- request
GET /update/check
--- more_headers
X-Version: 2.0.0
X-Client: abc
Cookie: srv=shard-1
--- error_code: 204
--- response_headers
X-Update-Rule: game:latest
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 10: a path segment from a regex location
--- config
    location ~ ^/v/(?<ver>[^/]+)/check$ {
        staged_update_input version=$ver;
        staged_update game;
    }
--- request eval
["GET /v/0.9/check",
 "GET /v/2.0.0/check",
 "GET /v/1.4.0/check?server=shard-1",
 "GET /v/1.9.5/check?server=shard-1&client=abc",
 "GET /v/abc/check",
 "GET /v/1.4.0/check?version=2.0.0&version=2.0.0&server=shard-1",
 "GET /v/1.4.0/check?server=a&server=b"]
--- error_code eval
[200, 204, 200, 204, 400, 200, 400]
--- response_body eval
[main::manifest("2.0.0", 1), "", main::manifest("1.9.0", 1, "shard-1"), "",
 "{\"error\":\"version is malformed: 1 to 4 dot-separated numbers of at most 9 digits, such as 1.2.3\"}\n", main::manifest("1.9.0", 1, "shard-1"),
 "{\"error\":\"a parameter is given more than once\"}\n"]
--- no_error_log
[alert]
[emerg]



=== TEST 11: a path segment: the trace
--- config
    location ~ ^/v/(?<ver>[^/]+)/check$ {
        staged_update_input version=$ver;
        staged_update game;
    }
--- request
GET /v/1.9.5/check?server=shard-1
--- error_code: 204
--- response_headers
X-Update-Rule: shard-1:latest
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 12: a renamed argument: version=$arg_v
--- config
    location = /update/check {
        staged_update_input version=$arg_v;
        staged_update game;
    }
--- request eval
["GET /update/check?v=0.9",
 "GET /update/check?version=0.9",
 "GET /update/check?v=1.4.0&server=shard-1",
 "GET /update/check?v=2.0.0&version=0.1",
 "GET /update/check?vv=0.9&v=2.0.0"]
--- error_code eval
[200, 400, 200, 204, 204]
--- response_body eval
[main::manifest("2.0.0", 1), "{\"error\":\"version is missing\"}\n",
 main::manifest("1.9.0", 1, "shard-1"), "", ""]
--- no_error_log
[alert]
[emerg]



=== TEST 13: a renamed argument given twice
--- config
    location = /update/check {
        staged_update_input version=$arg_v;
        staged_update game;
    }
--- request eval
["GET /update/check?v=1&v=2",
 "GET /update/check?v=2.0.0&server=shard-1&server=shard-1",
 "GET /update/check?v=2.0.0&version=1&version=2"]
--- error_code eval
[400, 400, 204]
--- response_body eval
["{\"error\":\"a parameter is given more than once\"}\n", "{\"error\":\"a parameter is given more than once\"}\n", ""]
--- no_error_log
[alert]
[emerg]



=== TEST 14: all three renamed
--- config
    location = /update/check {
        staged_update_input version=$arg_ver server=$arg_shard client=$arg_cid;
        staged_update game;
    }
--- request eval
["GET /update/check?ver=1.4.0&shard=shard-1&cid=abc",
 "GET /update/check?version=1.4.0&shard=shard-9&ver=1.0",
 "GET /update/check?ver=1.0&server=shard-9&client=bad/key&cid=bad/key"]
--- error_code eval
[200, 400, 400]
--- response_body eval
[main::manifest("1.9.0", 1, "shard-1"), "{\"error\":\"unknown server\"}\n", "{\"error\":\"client is malformed: 1 to 128 letters, digits, '.', '_', '-' or ':'\"}\n"]
--- no_error_log
[alert]
[emerg]



=== TEST 15: a version made of two arguments
--- config
    location = /update/check {
        staged_update_input version=$arg_major.$arg_minor;
        staged_update game;
    }
--- request eval
["GET /update/check?major=0&minor=9",
 "GET /update/check?major=2&minor=0&server=shard-1",
 "GET /update/check?major=1",
 "GET /update/check?major=0&minor=9&major=5&version=2.0.0"]
--- error_code eval
[200, 204, 400, 200]
--- response_body eval
[main::manifest("2.0.0", 1), "", "{\"error\":\"version is malformed: 1 to 4 dot-separated numbers of at most 9 digits, such as 1.2.3\"}\n", main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]



=== TEST 16: a server ID made of text and an argument
--- config
    location = /update/check {
        staged_update_input server=shard-$arg_shard;
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.4.0&shard=1",
 "GET /update/check?version=1.4.0&shard=9",
 "GET /update/check?version=1.4.0&server=shard-1"]
--- error_code eval
[200, 400, 400]
--- response_body eval
[main::manifest("1.9.0", 1, "shard-1"), "{\"error\":\"unknown server\"}\n", "{\"error\":\"unknown server\"}\n"]
--- no_error_log
[alert]
[emerg]



=== TEST 17: a version from a map of the User-Agent
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

    map $http_user_agent $launcher_version {
        "~^GameLauncher/(?<v>[0-9.]+)"  $v;
        default                         "";
    }
--- config
    location = /update/check {
        staged_update_input version=$launcher_version;
        staged_update game;
    }
--- request
GET /update/check?version=2.0.0
--- more_headers
User-Agent: GameLauncher/0.9 (linux)
--- error_code: 200
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]



=== TEST 18: a version from a map of the User-Agent: no match
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

    map $http_user_agent $launcher_version {
        "~^GameLauncher/(?<v>[0-9.]+)"  $v;
        default                         "";
    }
--- config
    location = /update/check {
        staged_update_input version=$launcher_version;
        staged_update game;
    }
--- request
GET /update/check?version=0.9
--- more_headers
User-Agent: curl/8.0
--- error_code: 400
--- response_body
{"error":"version is missing"}
--- no_error_log
[alert]
[emerg]



=== TEST 19: staged_update_input at http level is inherited; a location's own replaces it whole
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

    staged_update_input version=$http_x_version;
--- config
    location = /inherits {
        staged_update game;
    }
    location = /own {
        staged_update_input client=$http_x_client;
        staged_update game;
    }
--- more_headers
X-Version: 0.9
X-Client: bad/key
--- request eval
["GET /inherits?version=2.0.0&client=good-key",
 "GET /own?version=2.0.0&client=good-key"]
--- error_code eval
[200, 400]
--- response_body eval
[main::manifest("2.0.0", 1), "{\"error\":\"client is malformed: 1 to 128 letters, digits, '.', '_', '-' or ':'\"}\n"]
--- no_error_log
[alert]
[emerg]



=== TEST 20: staged_update_input at server level is inherited
--- config
    staged_update_input version=$arg_v;

    location = /inherits {
        staged_update game;
    }
    location /prefix/ {
        location = /prefix/nested {
            staged_update game;
        }
    }
--- request eval
["GET /inherits?v=0.9",
 "GET /inherits?version=0.9",
 "GET /prefix/nested?v=2.0.0"]
--- error_code eval
[200, 400, 204]
--- response_body eval
[main::manifest("2.0.0", 1), "{\"error\":\"version is missing\"}\n", ""]
--- no_error_log
[alert]
[emerg]



=== TEST 21: a sticky client key read through a value with variables gives the same answers
--- config
    location = /update/check {
        staged_update game;
    }
    location = /cv/check {
        staged_update_input client=${arg_c};
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
qr/\A(?=.*^#;$)(?=.*^\{"version":"2\.0\.0")(?:([^#;]*)#\1;\n){40}\z/ms
--- no_error_log
[alert]
[emerg]
