# Copyright (C) The ngx_http_staged_update_module authors
#
# The answers: the manifest byte for byte (files sorted by path, sizes,
# SHA-256, URLs with their prefix and escaping), its headers, HEAD, the
# redirect mode, the tracing headers and the variables.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases manifest);
use Digest::SHA ();    # the expected bodies call Digest::SHA::sha256_hex

# the release directories: file names that need escaping in the URL or in
# JSON, binary and empty files, a nested folder; ".update" at the top holds
# the full archives and the release notes, and is not listed

our %RELEASES = (
    '2.0.0' => {
        'README'                  => "game 2.0.0\n",
        'bin/game'                => "#!/bin/sh\necho \"game 2.0.0\"\n",
        'data/pack 1.pak'         => "2.0.0 pack 1\n" x 64,
        'data/pack10.pak'         => "2.0.0 pack 10\n" x 3,
        'data/sub/deep/x.bin'     => "\x00\x01\x02 binary \xff\xfe",
        'docs/notes+more.txt'     => "plus\n",
        "docs/caf\xc3\xa9.txt"    => "caf\xc3\xa9\n",
        'docs/say "hi".txt'       => "hi\n",
        'docs/back\\slash.txt'    => "\\\n",
        'docs/.update/listed.txt' => "only the top-level .update is hidden\n",
        'empty'                   => '',
        'version.txt'             => "version=2.0.0\n",
        '.update/full.tar.gz'     => "the full archive of 2.0.0\n",
        '.update/notes.txt'       => "not an archive, not listed\n",  # the notes
    },
    '1.9.0' => {
        'bin/game'                => "#!/bin/sh\necho \"game 1.9.0\"\n",
        'version.txt'             => "version=1.9.0\n",
        '.update/full.zip'        => "the zip archive of 1.9.0\n",
        '.update/full.tar.gz'     => "the tar archive of 1.9.0\n",
    },
    '1.8.0' => {
        'version.txt'             => "version=1.8.0\n",
        '.update/full.zip'        => "the zip archive of 1.8.0\n",
    },
    # deeply nested folders: 31 and 32 levels
    '2.2.0' => {
        'version.txt'             => "version=2.2.0\n",
        ('b/' x 31) . 'b31.txt'   => "31 folders deep\n",
        ('a/' x 32) . 'a32.txt'   => "32 folders deep\n",
    },
);

our $root = write_releases('releases-answers', \%RELEASES);

run_tests();

__DATA__

=== TEST 1: the manifest: every file but the top-level .update, sorted by path
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
GET /update/check?version=1.5.0
--- error_code: 200
--- response_headers eval
"Content-Type: application/json\n"
. "Content-Length: " . length(main::manifest("2.0.0", 0)) . "\n"
. "Cache-Control: no-store\n"
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 2: the manifest, literally, for a few of its files
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.5.0
--- error_code: 200
--- response_body_like eval
my $sha = \&Digest::SHA::sha256_hex;
qr/\A\{"version":"2\.0\.0","mandatory":false/
. qr/,"url":"\/releases\/2\.0\.0\/\.update\/full\.tar\.gz","artifact":\{"type":"full","size":26,"sha256":"/
. $sha->("the full archive of 2.0.0\n")
. qr/"\},"name":"2\.0\.0","pub_date":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"/
. qr/,"notes":"not an archive, not listed","files":\[/
. qr/\{"path":"README","size":11,"sha256":"/ . $sha->("game 2.0.0\n")
. qr/","url":"\/releases\/2\.0\.0\/README"\},/
. qr/\{"path":"bin\/game",.*/
. qr/\{"path":"data\/pack 1\.pak","size":832,"sha256":"[0-9a-f]{64}","url":"\/releases\/2\.0\.0\/data\/pack%201\.pak"\},/
. qr/\{"path":"data\/pack10\.pak",.*/
. qr/\{"path":"docs\/say \\"hi\\"\.txt","size":3,"sha256":"[0-9a-f]{64}","url":"\/releases\/2\.0\.0\/docs\/say%20%22hi%22\.txt"\},/
. qr/.*\{"path":"empty","size":0,"sha256":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","url":"\/releases\/2\.0\.0\/empty"\},/
. qr/\{"path":"version\.txt",[^{}]*\}\]\}\n\z/
--- no_error_log
[alert]
[emerg]



=== TEST 3: a mandatory manifest
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
GET /update/check?version=0.9
--- error_code: 200
--- response_headers eval
"Content-Type: application/json\n"
. "Content-Length: " . length(main::manifest("2.0.0", 1)) . "\n"
. "Cache-Control: no-store\n"
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]



=== TEST 4: with a server ID, the manifest names it
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          default=100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.5.0&server=shard-1
--- error_code: 200
--- response_headers eval
"Content-Type: application/json\n"
. "Content-Length: " . length(main::manifest("1.9.0", 0, "shard-1")) . "\n"
--- response_body eval
main::manifest("1.9.0", 0, "shard-1")
--- no_error_log
[alert]
[emerg]



=== TEST 5: a server that runs the track's latest shares its release
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        server   eu:shard.2_b  latest=2.0.0  minimum=1.6;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.5.0&server=eu:shard.2_b
--- error_code: 200
--- response_headers
X-Update-Rule: eu:shard.2_b:minimum
X-Update-Percent: 100.00
--- response_body eval
main::manifest("2.0.0", 1, "eu:shard.2_b")
--- no_error_log
[alert]
[emerg]



=== TEST 6: url= gives the prefix of the files' URLs
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0
                 url=https://cdn.example.com/game/2.0.0/;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          url=/files/v1.9/;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.0",
 "GET /update/check?version=1.0&server=shard-1"]
--- error_code eval
[200, 200]
--- response_body eval
[main::manifest("2.0.0", 0, undef, "https://cdn.example.com/game/2.0.0/"),
 main::manifest("1.9.0", 0, "shard-1", "/files/v1.9/")]
--- no_error_log
[alert]
[emerg]



=== TEST 7: HEAD: the headers of the manifest without its body
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
HEAD /update/check?version=1.0
--- error_code: 200
--- response_headers eval
"Content-Type: application/json\n"
. "Content-Length: " . length(main::manifest("2.0.0", 0)) . "\n"
. "Cache-Control: no-store\n"
. "X-Update-Rule: game:default\n"
. "X-Update-Percent: 100.00\n"
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 8: HEAD without an upgrade: 204
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
HEAD /update/check?version=2.0.0
--- error_code: 204
--- response_headers
Cache-Control: no-store
X-Update-Rule: game:latest
!Content-Type
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 9: redirect mode: a 302 to the full archive, made absolute by nginx
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
        server   shard-2  latest=1.8.0  release=$TEST_NGINX_RELEASES/1.8.0;
    }
--- config
    port_in_redirect off;

    location = /update/download {
        staged_update game redirect;
    }
--- request
GET /update/download?version=1.5
--- more_headers
Host: updates.example.com
--- error_code: 302
--- response_headers
Location: http://updates.example.com/releases/2.0.0/.update/full.tar.gz
Cache-Control: no-store
X-Update-Rule: game:default
X-Update-Percent: 100.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 10: redirect mode, mandatory: a 302 too
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
        server   shard-2  latest=1.8.0  release=$TEST_NGINX_RELEASES/1.8.0;
    }
--- config
    port_in_redirect off;

    location = /update/download {
        staged_update game redirect;
    }
--- request
GET /update/download?version=0.1
--- more_headers
Host: updates.example.com
--- error_code: 302
--- response_headers
Location: http://updates.example.com/releases/2.0.0/.update/full.tar.gz
X-Update-Rule: game:minimum
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 11: redirect mode with a server: its release's archive, the first full.* by name
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
        server   shard-2  latest=1.8.0  release=$TEST_NGINX_RELEASES/1.8.0;
    }
--- config
    port_in_redirect off;

    location = /update/download {
        staged_update game redirect;
    }
--- request
GET /update/download?version=1.5&server=shard-1
--- more_headers
Host: updates.example.com
--- error_code: 302
--- response_headers
Location: http://updates.example.com/releases/1.9.0/.update/full.tar.gz
X-Update-Rule: shard-1:default
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 12: redirect mode: an archive of another kind
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
        server   shard-2  latest=1.8.0  release=$TEST_NGINX_RELEASES/1.8.0;
    }
--- config
    absolute_redirect off;

    location = /update/download {
        staged_update game redirect;
    }
--- request
GET /update/download?version=1.5&server=shard-2
--- error_code: 302
--- response_headers
Location: /releases/1.8.0/.update/full.zip
X-Update-Rule: shard-2:default
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 13: redirect mode: no upgrade is a 204 without Location
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
    }
--- config
    location = /update/download {
        staged_update game redirect;
    }
--- request eval
["GET /update/download?version=2.0.0",
 "GET /update/download?version=1.5"]
--- error_code eval
[204, 204]
--- response_body eval
["", ""]
--- no_error_log
[alert]
[emerg]



=== TEST 14: redirect mode: no upgrade is a 204 without Location, headers
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0%;
    }
--- config
    location = /update/download {
        staged_update game redirect;
    }
--- request
GET /update/download?version=1.5
--- error_code: 204
--- response_headers
!Location
Cache-Control: no-store
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 15: redirect mode with url=: the archive under the prefix, as is
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0
                 url=https://cdn.example.com/game/2.0.0/;
        default  100%;
    }
--- config
    location = /update/download {
        staged_update game redirect;
    }
--- request
GET /update/download?version=1.5
--- error_code: 302
--- response_headers
Location: https://cdn.example.com/game/2.0.0/.update/full.tar.gz
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 16: check and redirect locations of the same track side by side
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    absolute_redirect off;

    location = /update/check {
        staged_update game check;
    }
    location = /update/download {
        staged_update game redirect;
    }
--- request eval
["GET /update/check?version=1.5",
 "GET /update/download?version=1.5"]
--- error_code eval
[200, 302]
--- response_body eval
[main::manifest("2.0.0", 0), ""]
--- no_error_log
[alert]
[emerg]



=== TEST 17: staged_update_trace off: no X-Update-* headers on an upgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
        staged_update_trace off;
    }
--- request
GET /update/check?version=1.5
--- error_code: 200
--- response_headers
Cache-Control: no-store
Content-Type: application/json
!X-Update-Rule
!X-Update-Percent
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 18: staged_update_trace off at the server level: none on a 204
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
    }
--- config
    staged_update_trace off;

    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.5
--- error_code: 204
--- response_headers
Cache-Control: no-store
!X-Update-Rule
!X-Update-Percent
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 19: staged_update_trace on in a location overrides off above it
--- http_config
    staged_update_zone updates 1m;
    staged_update_trace off;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
    }
--- config
    location = /update/check {
        staged_update game;
        staged_update_trace on;
    }
--- request
GET /update/check?version=1.5
--- error_code: 204
--- response_headers
X-Update-Rule: game:default
X-Update-Percent: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 20: variables: no upgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-D $staged_update_decision always;
        add_header X-T $staged_update_target always;
        add_header X-R $staged_update_rule always;
        add_header X-P $staged_update_percent always;
    }
--- request
GET /update/check?version=2.0.0
--- error_code: 204
--- response_headers
X-D: none
X-T: 2.0.0
X-R: game:latest
X-P: 0.00
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 21: variables: an upgrade
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-D $staged_update_decision always;
        add_header X-T $staged_update_target always;
        add_header X-R $staged_update_rule always;
        add_header X-P $staged_update_percent always;
    }
--- request
GET /update/check?version=1.2
--- error_code: 200
--- response_headers
X-D: upgrade
X-T: 2.0.0
X-R: game:default
X-P: 100.00
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 22: variables: a mandatory upgrade with a server, trace off
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
        staged_update_trace off;
        add_header X-D $staged_update_decision always;
        add_header X-T $staged_update_target always;
        add_header X-R $staged_update_rule always;
        add_header X-P $staged_update_percent always;
    }
--- request
GET /update/check?version=0.9&server=shard-1
--- error_code: 200
--- response_headers
X-D: mandatory
X-T: 1.9.0
X-R: shard-1:minimum
X-P: 100.00
!X-Update-Rule
--- response_body eval
main::manifest("1.9.0", 1, "shard-1")
--- no_error_log
[alert]
[emerg]



=== TEST 23: variables: a refused request is "invalid", with nothing decided
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-D $staged_update_decision always;
        add_header X-T $staged_update_target always;
        add_header X-R $staged_update_rule always;
        add_header X-P $staged_update_percent always;
    }
--- request
GET /update/check?version=1.x
--- error_code: 400
--- response_headers
X-D: invalid
!X-T
!X-R
!X-P
!X-Update-Rule
--- response_body
{"error":"version is malformed: 1 to 4 dot-separated numbers of at most 9 digits, such as 1.2.3"}
--- no_error_log
[alert]
[emerg]



=== TEST 24: variables: empty outside a staged_update location
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
    location = /other {
        add_header X-D $staged_update_decision always;
        add_header X-R $staged_update_rule always;
        return 200 "[$staged_update_decision][$staged_update_target]\n";
    }
--- request
GET /other?version=1.0
--- error_code: 200
--- response_headers
!X-D
!X-R
--- response_body
[][]
--- no_error_log
[alert]
[emerg]



=== TEST 25: variables in the access log
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100%;
        rule     1.5.0-1.9.*  0%;
    }

    log_format staged 'decision=$staged_update_decision '
                      'target=$staged_update_target '
                      'rule=$staged_update_rule pct=$staged_update_percent';
--- config
    location = /update/check {
        staged_update game;
        access_log $TEST_NGINX_RELEASES/access-25.log staged;
    }
    location = /log {
        alias $TEST_NGINX_RELEASES/access-25.log;
    }
--- request eval
["GET /update/check?version=1.7.1",
 "GET /log"]
--- error_code eval
[204, 200]
--- response_body eval
["", "decision=none target=2.0.0 rule=game:1.5.0-1.9.* pct=0.00\n"]
--- no_error_log
[alert]
[emerg]



=== TEST 26: files 31 and 32 folders deep are listed
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.2.0  $TEST_NGINX_RELEASES/2.2.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0
--- error_code: 200
--- response_body eval
main::manifest("2.2.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 27: variables: a refused method is "invalid" too
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
        add_header X-D $staged_update_decision always;
        add_header X-T $staged_update_target always;
    }
--- request
POST /update/check?version=1.0
--- error_code: 405
--- response_headers
X-D: invalid
!X-T
Allow: GET, HEAD
--- response_body
{"error":"method not allowed, use GET or HEAD"}
--- no_error_log
[alert]
[emerg]



=== TEST 28: a conditional request header does not change the answer: If-None-Match: *
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
GET /update/check?version=0.9.0
--- more_headers
If-None-Match: *
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]



=== TEST 29: a conditional request header does not change the answer: If-Match
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
GET /update/check?version=0.9.0
--- more_headers
If-Match: "x"
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]



=== TEST 30: a conditional request header does not change the answer: If-Unmodified-Since in the past
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
GET /update/check?version=0.9.0
--- more_headers
If-Unmodified-Since: Thu, 01 Jan 1970 00:00:01 GMT
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]



=== TEST 31: a conditional request header does not change the answer: If-Modified-Since now
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
GET /update/check?version=0.9.0
--- more_headers
If-Modified-Since: Sun, 01 Jan 2090 00:00:00 GMT
--- error_code: 200
--- response_headers
Content-Type: application/json
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]
