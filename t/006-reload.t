# Copyright (C) The ngx_http_staged_update_module authors
#
# Reloads: the blocks run in order, and under TEST_NGINX_USE_HUP (which
# this file turns on) each block after the first loads its configuration
# into the running nginx with SIGHUP, so its answers are those of the new
# tables in the same shared memory zone: a new latest version, new rules, a
# resized zone, a release directory whose files changed, and a zone that
# holds only two sets of tables, which passes six reloads only when the
# sets of finished workers are freed.  With a harness that restarts nginx
# for every block instead, the blocks still pass: each answer is the one of
# its own configuration.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use_hup();
no_shuffle();

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases manifest write_file);
use File::Path qw(remove_tree);

# the release directories: a few small files with known bytes each

our %RELEASES = (
    '2.0.0' => {
        'README'              => "game 2.0.0\n",
        'bin/game'            => "#!/bin/sh\necho \"game 2.0.0\"\n",
        'data/pack 1.pak'     => "2.0.0 pack 1\n" x 64,
        'version.txt'         => "version=2.0.0\n",
        '.update/full.tar.gz' => "the full archive of 2.0.0\n",
    },
    # rewritten by the block that republishes it, see below
    'live' => {
        'version.txt'         => "live, first edition\n",
        'old.txt'             => "removed by the second edition\n",
    },
    '1.9.0' => {
        'bin/game'            => "#!/bin/sh\necho \"game 1.9.0\"\n",
        'data/pack 1.pak'     => "1.9.0 pack 1\n" x 48,
        'version.txt'         => "version=1.9.0\n",
        '.update/full.tar.gz' => "the full archive of 1.9.0\n",
    },
);

our $root = write_releases('releases-reload', \%RELEASES);

# the release directory "live" of version 2.1.0, written now and written
# again just before the block that says it is republished: one file
# changed, one removed, one added

our %LIVE1 = (
    'version.txt' => "live, first edition\n",
    'old.txt'     => "removed by the second edition\n",
);

our %LIVE2 = (
    'version.txt' => "live, second edition\n",
    'new.txt'     => "added by the second edition\n",
);

for my $path (keys %LIVE1) {
    write_file("$root/live/$path", $LIVE1{$path});
}

# the second edition is also written now, in a folder of its own, and
# copied with its times: its manifest (pub_date included) is the same
# whenever the harness evaluates the expected body

for my $path (keys %LIVE2) {
    write_file("$root/live-second/$path", $LIVE2{$path});
}

sub live_manifest {
    my ($files) = @_;

    local $RELEASES{'2.1.0'} = $files;

    return manifest('2.1.0', 0, undef, undef,
                    dir => $files == \%LIVE2 ? "$root/live-second"
                                             : "$root/live");
}

add_block_preprocessor(sub {
    my $block = shift;

    return unless $block->name =~ /republished/;

    remove_tree("$root/live");

    for my $path (keys %LIVE2) {
        write_file("$root/live/$path", $LIVE2{$path});

        my @st = stat "$root/live-second/$path"
            or die "cannot stat $root/live-second/$path: $!\n";

        utime $st[8], $st[9], "$root/live/$path"
            or die "cannot set the times of $root/live/$path: $!\n";
    }
});

# a track with 140 servers, whose tables (3 pages) fit twice but not three
# times in a 36k zone (9 pages, with the slab pool's own and two of the zone
# header's small allocations), with a default of 0% or of 100%

for my $pct (0, 100) {
    write_file("$root/tight-$pct.conf", join '',
        "staged_update_zone tight 36k;\n",
        "staged_update_track game {\n",
        "    zone tight;\n",
        "    counters off;\n",
        "    latest 2.0.0 $root/2.0.0;\n",
        "    default $pct%;\n",
        "    server s000 latest=1.9.0 release=$root/1.9.0;\n",
        map({ sprintf "    server s%03d latest=1.9.0;\n", $_ } 1 .. 139),
        "}\n");
}

run_tests();

__DATA__

=== TEST 1: the first configuration: latest 2.0.0, everybody upgrades
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
--- request eval
["GET /update/check?version=1.9.0",
 "GET /update/check?version=2.0.0"]
--- error_code eval
[200, 204]
--- response_body eval
[main::manifest("2.0.0", 0), ""]
--- no_error_log
[alert]
[emerg]



=== TEST 2: reloaded: latest 1.9.0 in the same zone
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   1.9.0  $TEST_NGINX_RELEASES/1.9.0;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.9.0",
 "GET /update/check?version=1.8"]
--- error_code eval
[204, 200]
--- response_body eval
["", main::manifest("1.9.0", 0)]
--- no_error_log
[alert]
[emerg]



=== TEST 3: reloaded: new rules, a minimum and a server
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0;
        default  0%;
        rule     1.8.*  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.8.5",
 "GET /update/check?version=1.7",
 "GET /update/check?version=0.9",
 "GET /update/check?version=1.4&server=shard-1",
 "GET /update/check?version=1.8.5&server=shard-1"]
--- error_code eval
[200, 204, 200, 200, 204]
--- response_body eval
[main::manifest("2.0.0", 0), "", main::manifest("2.0.0", 1),
 main::manifest("1.9.0", 1, "shard-1"), ""]
--- no_error_log
[alert]
[emerg]



=== TEST 4: reloaded: the server is gone
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0;
        default  0%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.4&server=shard-1",
 "GET /update/check?version=0.9"]
--- error_code eval
[400, 200]
--- response_body eval
[qq({"error":"unknown server"}\n), main::manifest("2.0.0", 1)]
--- no_error_log
[alert]
[emerg]



=== TEST 5: reloaded: the zone resized, a second track in it
--- http_config
    staged_update_zone updates 2m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }

    staged_update_track tool {
        zone     updates;
        latest   1.9.0  $TEST_NGINX_RELEASES/1.9.0;
        default  0%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
    location = /tool {
        staged_update tool;
    }
--- request eval
["GET /update/check?version=1.9.0",
 "GET /tool?version=1.0"]
--- error_code eval
[200, 204]
--- response_body eval
[main::manifest("2.0.0", 0), ""]
--- no_error_log
[alert]
[emerg]



=== TEST 6: a release directory, first edition
--- http_config
    staged_update_zone updates 2m;

    staged_update_track game {
        zone     updates;
        latest   2.1.0  $TEST_NGINX_RELEASES/live;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=2.0.0
--- error_code: 200
--- response_body eval
main::live_manifest(\%main::LIVE1)
--- no_error_log
[alert]
[emerg]



=== TEST 7: reloaded: the same release directory republished with other files
--- http_config
    staged_update_zone updates 2m;

    staged_update_track game {
        zone     updates;
        latest   2.1.0  $TEST_NGINX_RELEASES/live;
        default  100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=2.0.0
--- error_code: 200
--- response_body eval
main::live_manifest(\%main::LIVE2)
--- no_error_log
[alert]
[emerg]



=== TEST 8: a zone that holds two sets of tables: reload 1 of 6, default 100%
--- http_config
    include $TEST_NGINX_RELEASES/tight-100.conf;
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0&server=s123
--- error_code: 200
--- response_body eval
main::manifest("1.9.0", 0, "s123")
--- no_error_log
[alert]
[emerg]



=== TEST 9: a zone that holds two sets of tables: reload 2 of 6, default 0%
--- http_config
    include $TEST_NGINX_RELEASES/tight-0.conf;
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0&server=s123
--- error_code: 204
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 10: a zone that holds two sets of tables: reload 3 of 6, default 100%
--- http_config
    include $TEST_NGINX_RELEASES/tight-100.conf;
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0&server=s123
--- error_code: 200
--- response_body eval
main::manifest("1.9.0", 0, "s123")
--- no_error_log
[alert]
[emerg]



=== TEST 11: a zone that holds two sets of tables: reload 4 of 6, default 0%
--- http_config
    include $TEST_NGINX_RELEASES/tight-0.conf;
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0&server=s123
--- error_code: 204
--- response_body
--- no_error_log
[alert]
[emerg]



=== TEST 12: a zone that holds two sets of tables: reload 5 of 6, default 100%
--- http_config
    include $TEST_NGINX_RELEASES/tight-100.conf;
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0&server=s123
--- error_code: 200
--- response_body eval
main::manifest("1.9.0", 0, "s123")
--- no_error_log
[alert]
[emerg]



=== TEST 13: a zone that holds two sets of tables: reload 6 of 6, default 0%
--- http_config
    include $TEST_NGINX_RELEASES/tight-0.conf;
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0&server=s123
--- error_code: 204
--- response_body
--- no_error_log
[alert]
[emerg]
