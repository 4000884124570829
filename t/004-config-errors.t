# Copyright (C) The ngx_http_staged_update_module authors
#
# Refused configurations: nginx does not start, and the error log says
# which directive and value are wrong, in the words of the module.  And a
# few configurations that look odd but are fine.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateTest qw(write_releases manifest write_file);
use File::Path qw(make_path);

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
    # a release without a full archive
    '1.8.0' => {
        'version.txt'         => "version=1.8.0\n",
    },
    # a release with nothing to install file by file
    'only-update' => {
        '.update/full.tar.gz' => "the full archive\n",
    },
);

our $root = write_releases('releases-config', \%RELEASES);

# an empty release directory, a plain file, a directory with a dangling
# symbolic link

make_path("$root/empty");
write_file("$root/plain-file", "not a directory\n");
write_file("$root/dangling/version.txt", "version=1.7.0\n");
symlink("$root/dangling/nowhere", "$root/dangling/broken")
    or die "cannot make a symbolic link: $!\n";

# a directory with a symbolic link to itself, and one with a file name that
# is not UTF-8

write_file("$root/loop/version.txt", "version=1.7.0\n");
symlink(".", "$root/loop/again") or die "cannot make a symbolic link: $!\n";
write_file("$root/latin1/caf\xe9.txt", "latin-1\n");

# and one with a file name that holds a control character (a tab)

write_file("$root/control/version.txt", "version=1.7.0\n");
write_file("$root/control/tab\there.txt", "a tab in the name\n");

# a track with 600 servers: its tables do not fit in a 32k zone

write_file("$root/big-track.conf", join '',
    "staged_update_zone updates 32k;\n",
    "staged_update_track game {\n",
    "    zone updates;\n",
    "    latest 2.0.0 $root/2.0.0;\n",
    "    server s000 latest=1.9.0 release=$root/1.9.0;\n",
    map({ sprintf "    server s%03d latest=1.9.0;\n", $_ } 1 .. 599),
    "}\n");

run_tests();

__DATA__

=== TEST 1: latest: a malformed version
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.x  $TEST_NGINX_RELEASES/2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": "latest" has an invalid version "2.0.x": a version is 1 to 4 dot-separated numbers



=== TEST 2: latest: a wildcard is no version
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.*  $TEST_NGINX_RELEASES/2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": "latest" has an invalid version "2.0.*": a version cannot contain "*"



=== TEST 3: latest: 5 components
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0.0.1  $TEST_NGINX_RELEASES/2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": "latest" has an invalid version "2.0.0.0.1": a version has at most 4 components



=== TEST 4: latest: a component of 10 digits
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.1234567890  $TEST_NGINX_RELEASES/2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": "latest" has an invalid version "2.1234567890": a version component has at most 9 digits



=== TEST 5: latest: over-long
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   1.0000000000000000000000000000000000000000  $TEST_NGINX_RELEASES/2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": "latest" has an invalid version "1.0000000000000000000000000000000000000000": the version is too long



=== TEST 6: minimum: a malformed version
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1..0;
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
--- must_die
--- error_log
staged_update_track "game": "minimum" has an invalid version "1..0": a version is 1 to 4 dot-separated numbers



=== TEST 7: rule: a malformed version
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.x  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid version, range or wildcard "1.x": a version is 1 to 4 dot-separated numbers



=== TEST 8: rule: a range with a malformed end
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.x  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid version, range or wildcard "1.5.0-1.x": the end of the range is not a version or a wildcard such as "1.9.*"



=== TEST 9: rule: a range that starts with a wildcard
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.*-1.9  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid version, range or wildcard "1.*-1.9": the start of the range is not a version (1 to 4 dot-separated numbers of at most 9 digits)



=== TEST 10: rule: an empty range
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.9-1.5  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid version, range or wildcard "1.9-1.5": the range is empty: its start is above its end



=== TEST 11: rule: a wildcard in the middle
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.*.3  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid version, range or wildcard "1.*.3": "*" can only be the last component



=== TEST 12: rule: a server rule with a malformed version
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
        rule     shard-1  1.7.a  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid version, range or wildcard "1.7.a": a version is 1 to 4 dot-separated numbers



=== TEST 13: server: a malformed latest=
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.a  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "latest=" has an invalid version "1.9.a": a version is 1 to 4 dot-separated numbers



=== TEST 14: server: a malformed minimum=
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "minimum=" has an invalid version "": the version is empty



=== TEST 15: default: a percentage without %
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default" has an invalid percentage "10": a percentage ends with "%", as in "12.5%"



=== TEST 16: default: not a number
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  abc%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default" has an invalid percentage "abc%": a percentage is a number followed by "%", as in "12.5%"



=== TEST 17: default: a dot without decimals
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  1.%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default" has an invalid percentage "1.%": a percentage is a number followed by "%", as in "12.5%"



=== TEST 18: default: a negative percentage
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  -5%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default" has an invalid percentage "-5%": a percentage is a number followed by "%", as in "12.5%"



=== TEST 19: rule: a percentage above 100%
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  150%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid percentage "150%": a percentage is between 0% and 100%



=== TEST 20: default: 100.01%
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  100.01%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default" has an invalid percentage "100.01%": a percentage is between 0% and 100%



=== TEST 21: default: 1000%
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  1000%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default" has an invalid percentage "1000%": a percentage is between 0% and 100%



=== TEST 22: default: more than 2 decimals
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  0.125%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default" has an invalid percentage "0.125%": a percentage has at most 2 decimals (0.01%)



=== TEST 23: server: default= with more than 2 decimals
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=12.345%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "default=" has an invalid percentage "12.345%": a percentage has at most 2 decimals (0.01%)



=== TEST 24: server rule: a percentage above 100%
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
        rule     shard-1  1.7.*  100.5%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" has an invalid percentage "100.5%": a percentage is between 0% and 100%



=== TEST 25: the track's minimum above its latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  2.0.1;
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
--- must_die
--- error_log
staged_update_track "game": the minimum 2.0.1 of "game" is above its latest 2.0.0 in 



=== TEST 26: a server's minimum above its latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.9.1  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": the minimum 1.9.1 of "shard-1" is above its latest 1.9.0 in 



=== TEST 27: a server that takes the track's minimum, above its latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.9.5;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": the minimum 1.9.5 of "shard-1" is above its latest 1.9.0 in 



=== TEST 28: a server's latest above the track's
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=2.1.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1" has latest=2.1.0 above the track's latest 2.0.0 in 



=== TEST 29: rules that overlap with different percentages
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        rule     1.7.*  60%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": the rules of "game" overlap with different percentages: "1.5.0-1.9.*" in 
 and "1.7.*" in 



=== TEST 30: rules that overlap: an exact version inside a wildcard
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.2.3  5%;
        rule     1.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": the rules of "game" overlap with different percentages: "1.*" in 
 and "1.2.3" in 



=== TEST 31: a server's rules that overlap with different percentages
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
        rule     shard-1  1.*  10%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": the rules of "shard-1" overlap with different percentages: "1.*" in 
 and "1.7.*" in 



=== TEST 32: a rule naming an undeclared server
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
        rule     shard-9  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" names server "shard-9", which no "server" line above declares



=== TEST 33: a rule naming a server declared below it
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        rule     shard-1  1.7.*  60%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" names server "shard-1", which no "server" line above declares



=== TEST 34: a rule with a wrong number of arguments
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "rule" takes [<server>] <version> <percent>



=== TEST 35: a duplicate server ID
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
        server   shard-1  latest=1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1": the server ID is given twice in 



=== TEST 36: an invalid server ID
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard/1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": invalid server ID "shard/1": 1 to 64 letters, digits, ".", "_", "-" or ":"



=== TEST 37: a server ID of 65 characters
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": invalid server ID "sssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssssss": 1 to 64 letters



=== TEST 38: a server without latest=
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1" has no latest=<version>



=== TEST 39: a server with only an ID
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": "server" needs an ID and latest=<version>



=== TEST 40: a server with an unknown parameter
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%  weight=5;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1" has an invalid or repeated parameter "weight=5"; expected latest=, release=, url=, minimum=, default=



=== TEST 41: a server with a repeated parameter
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          latest=1.8.0;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": server "shard-1" has an invalid or repeated parameter "latest=1.8.0"



=== TEST 42: a server whose version has no release directory
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": no release directory for version 1.9.0, add release=<directory> in 



=== TEST 43: a version given two release directories
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
        server   shard-2  latest=2.0.0  release=$TEST_NGINX_RELEASES/1.9.0;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": version 2.0.0 is given another release directory or url than in 



=== TEST 44: a version given two url= prefixes
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
        server   shard-2  latest=2.0.0  url=/elsewhere/;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": version 2.0.0 is given another release directory or url than in 



=== TEST 45: a missing release directory
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/missing;
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
--- must_die
--- error_log eval
[qr{\Qstaged_update_track "game": release directory "$ENV{TEST_NGINX_RELEASES}/missing" of version 2.0.0: stat() failed in \E.*No such file or directory}]



=== TEST 46: a release directory that is a file
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/plain-file;
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
--- must_die
--- error_log eval
"staged_update_track \"game\": release directory \"$ENV{TEST_NGINX_RELEASES}/plain-file\" of version 2.0.0 is not a directory in "



=== TEST 47: a release directory with an entry that cannot be read
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/dangling
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"release directory \"$ENV{TEST_NGINX_RELEASES}/dangling\": stat() \"$ENV{TEST_NGINX_RELEASES}/dangling/broken\" failed"



=== TEST 48: a release directory with a symbolic link loop
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/loop
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
["release directory \"$ENV{TEST_NGINX_RELEASES}/loop\": \"$ENV{TEST_NGINX_RELEASES}/loop/again/again/", "is nested more than 32 levels deep (a symbolic link loop?) in "]



=== TEST 49: a release directory with a file name that is not UTF-8
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/latin1
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"release directory \"$ENV{TEST_NGINX_RELEASES}/latin1\": the name of \"$ENV{TEST_NGINX_RELEASES}/latin1/caf\xe9.txt\" is not valid UTF-8 or holds a control character"



=== TEST 50: an empty release directory
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/empty;
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
--- must_die
--- error_log eval
"staged_update_track \"game\": release directory \"$ENV{TEST_NGINX_RELEASES}/empty\" of version 2.0.0 holds no files in "



=== TEST 51: a release directory with only .update
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/only-update
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"staged_update_track \"game\": release directory \"$ENV{TEST_NGINX_RELEASES}/only-update\" of version 1.9.0 holds no files in "



=== TEST 52: an unknown zone
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     nothere;
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
--- must_die
--- error_log
staged_update_track "game": unknown zone "nothere", declare it with "staged_update_zone nothere <size>;" in 



=== TEST 53: a zone below 32k
--- http_config
    staged_update_zone updates 16k;

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
--- must_die
--- error_log
staged_update_zone "updates": size "16k" is too small, the minimum is 32k



=== TEST 54: a zone too small for the tables of its tracks
--- http_config
    include $TEST_NGINX_RELEASES/big-track.conf;
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_zone "updates" of 32k is too small for the tables of its tracks: they take 
 and twice as much while a reload replaces them; use at least 



=== TEST 55: a zone of an invalid size
--- http_config
    staged_update_zone updates big;

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
--- must_die
--- error_log
staged_update_zone "updates": invalid size "big"



=== TEST 56: a duplicate zone
--- http_config
    staged_update_zone updates 1m;
    staged_update_zone updates 2m;

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
--- must_die
--- error_log
staged_update_zone "updates" is duplicate



=== TEST 57: a zone name taken by another module
--- http_config
    limit_req_zone $binary_remote_addr zone=updates:1m rate=1r/s;
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
--- must_die
--- error_log
the shared memory zone "updates" is already declared for a different use



=== TEST 58: a track without zone
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
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
--- must_die
--- error_log
staged_update_track "game" has no "zone <name>;" in 



=== TEST 59: a track without latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
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
--- must_die
--- error_log
staged_update_track "game" has no "latest <version> <directory>;" in 



=== TEST 60: a duplicate track
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

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game" is duplicate



=== TEST 61: a track name of 65 characters
--- http_config
    staged_update_zone updates 1m;

    staged_update_track ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt {
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
--- must_die
--- error_log
staged_update_track: invalid name "ttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttttt"



=== TEST 62: a duplicate latest
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        latest   2.1.0  $TEST_NGINX_RELEASES/2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": "latest" is duplicate



=== TEST 63: a duplicate minimum
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
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
--- must_die
--- error_log
staged_update_track "game": "minimum" is duplicate



=== TEST 64: a duplicate default
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
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
--- must_die
--- error_log
staged_update_track "game": "default" is duplicate



=== TEST 65: a duplicate zone line
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
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
--- must_die
--- error_log
staged_update_track "game": "zone" is duplicate



=== TEST 66: an unknown line in the track
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        percent  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": unknown directive or wrong number of arguments in "percent"; expected zone, latest, minimum, default, rule, server, token, sign, inline, counters, rate, ramp, halt_on or include



=== TEST 67: latest without a directory
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": unknown directive or wrong number of arguments in "latest"



=== TEST 68: url=: not http(s)
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  url=ftp://cdn.example.com/2.0.0/;
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
--- must_die
--- error_log
staged_update_track "game": invalid url "ftp://cdn.example.com/2.0.0/": a path or an http(s):// URL that ends in "/", without spaces, quotes, backslashes, "?" or "#"



=== TEST 69: url=: without the final /
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  url=/files/2.0.0;
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
--- must_die
--- error_log
staged_update_track "game": invalid url "/files/2.0.0": a path or an http(s):// URL



=== TEST 70: url=: a quote
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  'url=/files/"2.0.0"/';
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
--- must_die
--- error_log
staged_update_track "game": invalid url "/files/"2.0.0"/": a path or an http(s):// URL



=== TEST 71: url=: a relative path on a server
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        rule     1.5.0-1.9.*  50%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          url=files/1.9.0/  minimum=1.5.0  default=20%;
        rule     shard-1  1.7.*  60%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log
staged_update_track "game": invalid url "files/1.9.0/": a path or an http(s):// URL



=== TEST 72: url=: empty
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  url=;
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
--- must_die
--- error_log
staged_update_track "game": "latest" has an invalid parameter "url=", expected url=<prefix>



=== TEST 73: latest: another parameter than url=
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  cdn=/files/;
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
--- must_die
--- error_log
staged_update_track "game": "latest" has an invalid parameter "cdn=/files/", expected url=<prefix>



=== TEST 74: staged_update: an unknown track
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
        staged_update nope;
    }
--- must_die
--- error_log
staged_update: unknown track "nope", define it with "staged_update_track nope { ... }" in 



=== TEST 75: staged_update: an invalid mode
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
        staged_update game fast;
    }
--- must_die
--- error_log
staged_update game: invalid mode "fast", it must be "check" or "redirect"



=== TEST 76: staged_update: redirect mode with a release that has no archive is fine: its upgrade is the manifest
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
        server   shard-2  latest=1.8.0  release=$TEST_NGINX_RELEASES/1.8.0;
    }
--- config
    absolute_redirect off;

    location = /update/check {
        staged_update game;
    }
    location = /update/download {
        staged_update game redirect;
    }
--- request eval
["GET /update/download?version=0.9&server=shard-2",
 "GET /update/check?version=0.9&server=shard-2",
 "GET /update/download?version=1.0&server=shard-1",
 "GET /update/download?version=1.8&server=shard-2"]
--- error_code eval
[200, 200, 302, 204]
--- response_body eval
[main::manifest("1.8.0", 1, "shard-2"), main::manifest("1.8.0", 1, "shard-2"),
 "", ""]
--- response_headers eval
["Content-Type: application/json\n"
 . "Content-Length: " . length(main::manifest("1.8.0", 1, "shard-2")) . "\n"
 . "!Location\n",
 "Content-Type: application/json\n",
 "Location: /releases/1.9.0/.update/full.tar.gz\n",
 "!Location\n"]
--- no_error_log
[alert]
[emerg]



=== TEST 77: staged_update: twice in a location
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
        staged_update game redirect;
    }
--- must_die
--- error_log
"staged_update" directive is duplicate



=== TEST 78: staged_update_input: an unknown name
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
        staged_update_input ver=$arg_v;
        staged_update game;
    }
--- must_die
--- error_log
staged_update_input: invalid parameter "ver=$arg_v", expected version=, server=, client= or manual= and a value



=== TEST 79: staged_update_input: no =
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
        staged_update_input version;
        staged_update game;
    }
--- must_die
--- error_log
staged_update_input: invalid parameter "version", expected version=, server=, client= or manual= and a value



=== TEST 80: staged_update_input: an empty value
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
        staged_update_input version=$arg_v server=;
        staged_update game;
    }
--- must_die
--- error_log
staged_update_input: "server=" has an empty value



=== TEST 81: staged_update_input: an unknown variable
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
        staged_update_input version=$no_such_variable;
        staged_update game;
    }
--- must_die
--- error_log
unknown "no_such_variable" variable



=== TEST 82: staged_update_input: twice in a location
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
        staged_update_input version=$arg_v;
        staged_update_input client=$arg_c;
        staged_update game;
    }
--- must_die
--- error_log
"staged_update_input" directive is duplicate



=== TEST 83: accepted: the zone declared after the track that names it
--- http_config
    staged_update_track game {
        zone     late;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
    }

    staged_update_zone late 32k;
--- config
    location = /update/check {
        staged_update game;
    }
--- request
GET /update/check?version=1.0
--- error_code: 200
--- response_body eval
main::manifest("2.0.0", 0)
--- no_error_log
[alert]
[emerg]



=== TEST 84: accepted: a release directory with a final slash
--- http_config
    staged_update_zone updates 32k;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0//;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0/;
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
[main::manifest("2.0.0", 0), main::manifest("1.9.0", 0, "shard-1")]
--- no_error_log
[alert]
[emerg]



=== TEST 85: accepted: the same release directory for a version on two lines
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0%;
        server   shard-1  latest=2.0.0  release=$TEST_NGINX_RELEASES/2.0.0
                          default=100%;
        server   shard-2  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          default=100%;
        server   shard-3  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          default=100%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.0&server=shard-1",
 "GET /update/check?version=1.0&server=shard-3"]
--- error_code eval
[200, 200]
--- response_body eval
[main::manifest("2.0.0", 0, "shard-1"), main::manifest("1.9.0", 0, "shard-3")]
--- no_error_log
[alert]
[emerg]



=== TEST 86: accepted: two tracks in one zone, a third in another
--- http_config
    staged_update_zone updates 1m;
    staged_update_zone tools 32k;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  100%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
    }

    staged_update_track editor {
        zone     updates;
        latest   1.9.0  $TEST_NGINX_RELEASES/1.9.0;
        minimum  1.5;
        default  0%;
        server   shard-1  latest=1.8.0  release=$TEST_NGINX_RELEASES/1.8.0;
    }

    staged_update_track tool {
        zone     tools;
        latest   1.8.0  $TEST_NGINX_RELEASES/1.8.0;
        default  100%;
    }
--- config
    location = /game {
        staged_update game;
    }
    location = /editor {
        staged_update editor;
    }
    location = /tool {
        staged_update tool;
    }
--- request eval
["GET /game?version=1.0",
 "GET /editor?version=1.0",
 "GET /editor?version=1.6",
 "GET /tool?version=1.0",
 "GET /game?version=1.0&server=shard-1",
 "GET /editor?version=1.0&server=shard-1",
 "GET /tool?version=1.0&server=shard-1"]
--- error_code eval
[200, 200, 204, 200, 200, 200, 400]
--- response_body eval
[main::manifest("2.0.0", 0), main::manifest("1.9.0", 1), "",
 main::manifest("1.8.0", 0), main::manifest("1.9.0", 0, "shard-1"),
 main::manifest("1.8.0", 1, "shard-1"), qq({"error":"unknown server"}
)]
--- no_error_log
[alert]
[emerg]



=== TEST 87: accepted: the same relative release directory on two lines
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  ../releases-config/2.0.0;
        default  100%;
        server   shard-1  latest=2.0.0  release=../releases-config/2.0.0;
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
[main::manifest("2.0.0", 0), main::manifest("2.0.0", 0, "shard-1")]
--- no_error_log
[alert]
[emerg]



=== TEST 88: accepted: servers in a file included by the track
--- user_files
>>> shards.conf
server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0;
rule     shard-1  1.7.*  100%;
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        include  ../html/shards.conf;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- request eval
["GET /update/check?version=1.7.2&server=shard-1",
 "GET /update/check?version=1.6&server=shard-1"]
--- error_code eval
[200, 204]
--- response_body eval
[main::manifest("1.9.0", 0, "shard-1"), ""]
--- no_error_log
[alert]
[emerg]



=== TEST 89: a zone that holds the tables once but not twice (a reload would fail)
--- http_config eval
"staged_update_zone updates 32k;
staged_update_track game {
    zone updates;
    counters off;
    latest 2.0.0 \$TEST_NGINX_RELEASES/2.0.0;
    server s0 latest=1.9.0 release=\$TEST_NGINX_RELEASES/1.9.0;
" . CORE::join("", map { "    server s$_ latest=1.9.0;\n    rule s$_ 1.7.* 60%;\n" } 1 .. 100) . "}\n"
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
[qr{\Qstaged_update_zone "updates" of 32k is too small for the tables of its tracks: they take \E(\d+)\Q bytes, and twice as much while a reload replaces them; use at least \E}]



=== TEST 90: a release directory with a file name that holds a control character
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        minimum  1.0.0;
        default  10%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/control
                          minimum=1.5.0  default=20%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"release directory \"$ENV{TEST_NGINX_RELEASES}/control\": the name of \"$ENV{TEST_NGINX_RELEASES}/control/tab\there.txt\" is not valid UTF-8 or holds a control character"



=== TEST 91: url=: a "?"
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  url=/files/2.0.0/?v=1/;
        minimum  1.0.0;
        default  10%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"staged_update_track \"game\": invalid url \"/files/2.0.0/?v=1/\": a path or an http(s):// URL that ends in \"/\", without spaces, quotes, backslashes, \"?\" or \"#\""



=== TEST 92: url=: a "#"
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  url=https://cdn.example.com/a#b/;
        minimum  1.0.0;
        default  10%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"staged_update_track \"game\": invalid url \"https://cdn.example.com/a#b/\": a path or an http(s):// URL that ends in \"/\", without spaces, quotes, backslashes, \"?\" or \"#\""



=== TEST 93: url=: an http(s) URL without a path
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  url=https://cdn.example.com;
        minimum  1.0.0;
        default  10%;
        server   shard-1  latest=1.9.0  release=$TEST_NGINX_RELEASES/1.9.0
                          minimum=1.5.0  default=20%;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"staged_update_track \"game\": invalid url \"https://cdn.example.com\": a path or an http(s):// URL that ends in \"/\", without spaces, quotes, backslashes, \"?\" or \"#\""



=== TEST 94: accepted: url= of an http(s) URL whose path is "/"
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0  url=https://cdn.example.com/;
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
main::manifest("2.0.0", 0, undef, "https://cdn.example.com/")
--- no_error_log
[alert]
[emerg]



=== TEST 95: staged_update_verify: an unknown track is named with its directive
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location = /update/check {
        staged_update game;
    }
    location /releases/ {
        staged_update_verify nosuch;
        alias $TEST_NGINX_RELEASES/;
    }
--- must_die
--- error_log
staged_update_verify: unknown track "nosuch", define it with "staged_update_track nosuch { ... }" in 



=== TEST 96: token: an invalid grace= is refused without the hint of ttl=
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        token    grace=abc secret=$TEST_NGINX_RELEASES/none.secret;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
qr{staged_update_track "game": "token" has an invalid time "grace=abc" in }



=== TEST 97: token: a ttl= under a minute is refused with its hint
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        token    ttl=30s secret=$TEST_NGINX_RELEASES/none.secret;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
qr{staged_update_track "game": "token" has an invalid time "ttl=30s" \(ttl is at least 60s\) in }



=== TEST 98: refused: staged_update_zone with a parameter other than state=
--- http_config
    staged_update_zone updates 1m stat=/tmp/x.json;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
"staged_update_zone \"updates\": invalid parameter \"stat=/tmp/x.json\", expected state=<file>"



=== TEST 99: refused: a state file in a directory that does not exist
--- http_config
    staged_update_zone updates 1m state=$TEST_NGINX_RELEASES/no-such-dir/state.json;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location = /update/check {
        staged_update game;
    }
--- must_die
--- error_log eval
qr/staged_update_zone "updates": the directory "[^"]*no-such-dir" of state="[^"]*no-such-dir\/state\.json" does not exist/



=== TEST 100: refused: staged_update_api with an invalid parameter
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location /update/api/ {
        staged_update_api write=yes;
    }
--- must_die
--- error_log eval
"staged_update_api: invalid parameter \"write=yes\", expected write=on or write=off"



=== TEST 101: refused: staged_update_input with an unknown name
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
    }
--- config
    location = /update/check {
        staged_update_input force=$arg_force;
        staged_update game;
    }
--- must_die
--- error_log eval
"staged_update_input: invalid parameter \"force=\$arg_force\", expected version=, server=, client= or manual= and a value"



=== TEST 102: accepted: manual= from a header
--- http_config
    staged_update_zone updates 1m;

    staged_update_track game {
        zone     updates;
        latest   2.0.0  $TEST_NGINX_RELEASES/2.0.0;
        default  0.01%;
    }
--- config
    location = /update/check {
        staged_update_input manual=$http_x_manual;
        staged_update game;
    }
--- request
GET /update/check?version=1.0&client=k
--- more_headers
X-Manual: 1
--- error_code: 200
--- no_error_log
[alert]
[emerg]
