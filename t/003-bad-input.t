# Copyright (C) The ngx_http_staged_update_module authors
#
# Bad input: every refused request is a 400 (405 for a method other than
# GET and HEAD) with a JSON body and no 5xx; request bodies are discarded.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases manifest $GAME_TRACK default_http_config
                        bucket);

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

our $root = write_releases('releases-bad-input', \%RELEASES);

# the bodies of the refusals

our %ERR = map { $_->[0] => qq({"error":"$_->[1]"}\n) } (
    [method    => 'method not allowed, use GET or HEAD'],
    [dup       => 'a parameter is given more than once'],
    [noversion => 'version is missing'],
    [version   => 'version is malformed: 1 to 4 dot-separated numbers of '
                  . 'at most 9 digits, such as 1.2.3'],
    [server    => "server is malformed: 1 to 64 letters, digits, '.', '_', "
                  . "'-' or ':'"],
    [client    => "client is malformed: 1 to 128 letters, digits, '.', '_', "
                  . "'-' or ':'"],
    [unknown   => 'unknown server'],
    [escape    => 'a parameter has a malformed percent escape: a % is '
                  . 'followed by two hex digits'],
);

# a block without an http_config of its own runs with the track "game":
# $GAME_TRACK in t/common/StagedUpdateTest.pm

add_block_preprocessor(sub { default_http_config(shift, $GAME_TRACK) });

run_tests();

__DATA__

=== TEST 1: no version: 400 with a JSON body
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check
--- error_code: 400
--- response_headers eval
"Content-Type: application/json\n"
. "Content-Length: " . length($main::ERR{noversion}) . "\n"
. "Cache-Control: no-store\n"
. "!X-Update-Rule\n"
. "!X-Update-Percent\n"
--- response_body eval
$main::ERR{noversion}
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 2: an empty version, or none among other arguments: missing
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=",
 "GET /update/check?version",
 "GET /update/check?server=shard-1&client=abc",
 "GET /update/check?myversion=2.0.0&versions=2.0.0&version_=2.0.0",
 "GET /update/check?&&version=&&"]
--- error_code eval
[(400) x 5]
--- response_body eval
[($main::ERR{noversion}) x 5]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 3: malformed versions
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
[map { "GET /update/check?version=$_" }
 ('1..2', '1.2.3.4.5', 'abc', '1234567890', '1.1234567890',
  '1.2.x', '1.2.', '.1', '1.2.*', '*',
  '-1', '1.5.0-1.9.0', '%201.2', '1%2E', 'v1.2',
  '1,2', '1.2%00', '+1', '1.0.0.0.0', '0x10')]
--- error_code eval
[(400) x 20]
--- response_body eval
[($main::ERR{version}) x 20]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 4: a malformed version: the headers
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.2.x
--- error_code: 400
--- response_headers eval
"Content-Type: application/json\n"
. "Content-Length: " . length($main::ERR{version}) . "\n"
. "Cache-Control: no-store\n"
. "!X-Update-Rule\n"
--- response_body eval
$main::ERR{version}
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 5: oversized versions: 100 characters, 40 characters
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=" . ("1" x 100),
 "GET /update/check?version=1.2.3." . ("0" x 94),
 "GET /update/check?version=" . CORE::join(".", ("1" x 9) x 11),
 "GET /update/check?version=0999999999.999999999.999999999.99999999",
 "GET /update/check?version=1.0.0." . ("0" x 34)]
--- error_code eval
[(400) x 5]
--- response_body eval
[($main::ERR{version}) x 5]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 6: the longest and the most precise valid versions
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=999999999.999999999.999999999.999999999",
 "GET /update/check?version=000000002.000000000.000000000.000000000",
 "GET /update/check?version=2.0.0.0",
 "GET /update/check?version=0.9.999999999.999999999"]
--- error_code eval
[204, 204, 204, 200]
--- response_body eval
["", "", "", main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 7: server IDs with characters outside A-Z a-z 0-9 . _ - :
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.0&server=a%20b",
 "GET /update/check?version=1.0&server=<x>",
 "GET /update/check?version=1.0&server=%3Cx%3E",
 "GET /update/check?version=1.0&server=shard-1;",
 "GET /update/check?version=1.0&server=shard/1",
 "GET /update/check?version=1.0&server=shard+1",
 "GET /update/check?version=1.0&server=\"x\"",
 "GET /update/check?version=1.0&server=caf\xc3\xa9"]
--- error_code eval
[(400) x 8]
--- response_body eval
[($main::ERR{server}) x 8]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 8: a server ID of 65 characters is malformed, of 64 unknown
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.0&server=" . ("s" x 65),
 "GET /update/check?version=1.0&server=" . ("s" x 64)]
--- error_code eval
[400, 400]
--- response_body eval
[$main::ERR{server}, $main::ERR{unknown}]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 9: an unknown server: 400, never a guess
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.0&server=shard-9",
 "GET /update/check?version=1.0&server=SHARD-1",
 "GET /update/check?version=1.0&server=shard-1.",
 "GET /update/check?version=0.1&server=game"]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[($main::ERR{unknown}) x 4]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 10: an unknown server: the headers
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0&server=shard-9
--- error_code: 400
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!X-Update-Rule
--- response_body eval
$main::ERR{unknown}
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 11: an empty server ID is no server ID
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=0.5&server=",
 "GET /update/check?version=0.5&server=&client="]
--- error_code eval
[200, 200]
--- response_body eval
[main::manifest("2.0.0", 1), main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 12: bad client keys, even at the latest version
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=2.0.0&client=a/b",
 "GET /update/check?version=2.0.0&client=a%20b",
 "GET /update/check?version=2.0.0&client=a=b",
 "GET /update/check?version=2.0.0&client=" . ("k" x 129),
 "GET /update/check?version=0.5&client=\xff",
 "GET /update/check?version=1.6&server=shard-1&client=<script>"]
--- error_code eval
[(400) x 6]
--- response_body eval
[($main::ERR{client}) x 6]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 13: a client key of 128 characters is fine
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=2.0.0&client=" . ("k" x 128),
 "GET /update/check?version=0.5&client=A-z.0_9:" . ("k" x 120)]
--- error_code eval
[204, 200]
--- response_body eval
["", main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 14: a parameter given twice
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1&version=2",
 "GET /update/check?version=2.0.0&version=2.0.0",
 "GET /update/check?version=&version=2.0.0",
 "GET /update/check?version=2.0.0&server=shard-1&server=shard-1",
 "GET /update/check?version=2.0.0&server=&server=shard-1",
 "GET /update/check?version=2.0.0&client=a&client=b",
 "GET /update/check?client=a&version=2.0.0&client=a",
 "GET /update/check?version=1..2&version=x",
 "GET /update/check?server=bad/id&server=x&version=1.0"]
--- error_code eval
[(400) x 9]
--- response_body eval
[($main::ERR{dup}) x 9]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 15: a parameter given twice: the headers
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1&version=2
--- error_code: 400
--- response_headers
Content-Type: application/json
Cache-Control: no-store
!X-Update-Rule
--- response_body eval
$main::ERR{dup}
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 16: which refusal comes first
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?server=bad/id",
 "GET /update/check?version=x&server=bad/id&client=bad/key",
 "GET /update/check?version=1.0&server=bad/id&client=bad/key",
 "GET /update/check?version=1.0&server=shard-9&client=bad/key"]
--- error_code eval
[400, 400, 400, 400]
--- response_body eval
[$main::ERR{noversion}, $main::ERR{version}, $main::ERR{server},
 $main::ERR{unknown}]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 17: other arguments are ignored
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?a=1&version_x=9&b&version=0.5&c=%20&server_id=x&clients=y&=z&d=
--- error_code: 200
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 18: a long query string
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
"GET /update/check?" . CORE::join("&", map { "arg$_=value$_" } 1 .. 300) . "&version=0.5"
--- error_code: 200
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 19: POST: 405 with Allow and a JSON body
--- config
    location = /update/check {
        staged_update game;
    }
--- request
POST /update/check?version=0.5
--- error_code: 405
--- response_headers eval
"Allow: GET, HEAD\n"
. "Content-Type: application/json\n"
. "Content-Length: " . length($main::ERR{method}) . "\n"
. "Cache-Control: no-store\n"
. "!X-Update-Rule\n"
--- response_body eval
$main::ERR{method}
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 20: PUT, DELETE, OPTIONS, PATCH: 405
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["PUT /update/check?version=0.5",
 "DELETE /update/check?version=0.5",
 "OPTIONS /update/check?version=0.5",
 "PATCH /update/check?version=0.5"]
--- error_code eval
[405, 405, 405, 405]
--- response_body eval
[($main::ERR{method}) x 4]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 21: DELETE: the Allow header
--- config
    location = /update/check {
        staged_update game;
    }
--- request
DELETE /update/check?version=2.0.0
--- error_code: 405
--- response_headers
Allow: GET, HEAD
Content-Type: application/json
--- response_body eval
$main::ERR{method}
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 22: a POST with a body, then a GET on the same connection
--- config
    location = /update/check {
        staged_update game;
    }
--- pipelined_requests eval
["POST /update/check?version=0.5\n" . ("x" x 5000),
 "GET /update/check?version=0.5"]
--- error_code eval
[405, 200]
--- response_body eval
[$main::ERR{method}, main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 23: a POST with a large body
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
"POST /update/check?version=0.5\n" . ("body " x 100000)
--- error_code: 405
--- response_body eval
$main::ERR{method}
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 24: a GET with a body is answered, the body discarded
--- config
    location = /update/check {
        staged_update game;
    }
--- pipelined_requests eval
["GET /update/check?version=0.5\nhello, a body",
 "GET /update/check?version=0.9"]
--- error_code eval
[200, 200]
--- response_body eval
[main::manifest("2.0.0", 1), main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 25: HEAD with bad input: 400 without a body
--- config
    location = /update/check {
        staged_update game;
    }
--- request
HEAD /update/check?version=abc
--- error_code: 400
--- response_headers eval
"Content-Type: application/json\n"
. "Content-Length: " . length($main::ERR{version}) . "\n"
--- response_body
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 26: percent-encoded values are decoded, then checked
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=2%2E0%2e0",
 "GET /update/check?version=1.9.0&server=shard%2D1&client=k%3A1",
 "GET /update/check?version=2.0.0&client=a%3Ab",
 "GET /update/check?version=2.0.0&client=a%3A%3Ab"]
--- error_code eval
[204, 204, 204, 204]
--- response_headers eval
["X-Update-Rule: game:latest\n",
 "X-Update-Rule: shard-1:latest\n",
 "X-Update-Rule: game:latest\n",
 "X-Update-Rule: game:latest\n"]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 27: an encoded value decides as the plain one: the minimum, a rule
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=0%2E9%2E0",
 "GET /update/check?version=1%2E2%2E0&server=shard-1"]
--- error_code eval
[200, 200]
--- response_headers eval
["X-Update-Rule: game:minimum\n",
 "X-Update-Rule: shard-1:minimum\n"]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 28: the sticky draw of an encoded client key is the plain key's
--- config
    location = /update/check {
        staged_update_trace off;
        staged_update game;
    }
--- request eval
[map { ("GET /update/check?version=1.6.0&client=key%3A$_",
        "GET /update/check?version=1.6.0&client=key:$_") } 1 .. 20]
--- error_code eval
[map { ((main::bucket("game/2.0.0/key:$_") < 5000) ? 200 : 204) x 2 } 1 .. 20]
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 29: a malformed percent escape: 400 with a JSON body
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.2%",
 "GET /update/check?version=1.%2",
 "GET /update/check?version=%zz",
 "GET /update/check?version=2.0.0&client=a%3",
 "GET /update/check?version=2.0.0&server=%G1"]
--- error_code eval
[(400) x 5]
--- response_body eval
[($main::ERR{escape}) x 5]
--- no_error_log
[alert]
[emerg]
[crit]
