# Input sources: staged_update_input takes the version, the server ID and
# the client key from headers, cookies, path segments, renamed query
# arguments or any value with variables.

use strict;
use warnings;

use Test::Nginx::Socket 'no_plan';

use Cwd qw(cwd);
use Digest::SHA qw(sha256_hex);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);

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

# the answer with the files of a release, as the module must build it:
# dir is the release directory (by default the version's), client the
# version of the client, which picks its delta if the release has one

sub manifest {
    my ($version, $mandatory, $server, $prefix, %opt) = @_;

    $prefix //= "/releases/$version/";

    my ($artifact, $mid) = release_parts($opt{dir} // "$main::root/$version",
                                          $version, $prefix, $opt{client});

    my $files = $RELEASES{$version};
    my @files;

    for my $path (sort grep { !m{^\.update/} } keys %$files) {
        (my $url = $path) =~ s{([^A-Za-z0-9._~/-])}{sprintf '%%%02X', ord $1}ge;
        push @files, sprintf '{"path":"%s","size":%d,"sha256":"%s","url":"%s%s"}',
                             $path, length $files->{$path},
                             sha256_hex($files->{$path}), $prefix, $url;
    }

    return sprintf('{"version":"%s","mandatory":%s', $version,
                   $mandatory ? 'true' : 'false')
           . (defined $server ? qq{,"server":"$server"} : '')
           . $artifact . $mid
           . ',"files":[' . join(',', @files) . "]}\n";
}

# what the module takes from the release directory on disk, besides the
# files: the artifact that takes a client at version $client there (its
# delta from .update/from-<version>.<ext>, else the full archive
# .update/full.<ext>, else none) and the name, pub_date (the newest mtime
# of the release's files, .update included) and notes

sub version_cmp {
    my @a = split /\./, $_[0];
    my @b = split /\./, $_[1];

    for my $i (0 .. ($#a > $#b ? $#a : $#b)) {
        my $rc = ($a[$i] // 0) <=> ($b[$i] // 0);
        return $rc if $rc;
    }

    return 0;
}

sub release_walk {
    my ($dir, $top, $meta, $mtime) = @_;

    opendir my $dh, $dir or die "cannot open $dir: $!\n";

    for my $name (readdir $dh) {
        next if $name eq '.' || $name eq '..';

        my @st = stat "$dir/$name" or next;

        if ($top && $name eq '.update') {
            next unless -d _;

            opendir my $mh, "$dir/$name" or die "cannot open $dir/$name: $!\n";

            for my $m (readdir $mh) {
                my @ms = stat "$dir/$name/$m" or next;
                next unless -f _;
                $meta->{$m} = [ "$dir/$name/$m", $ms[7] ];
                $$mtime = $ms[9] if $ms[9] > $$mtime;
            }

            next;
        }

        if (-d _) {
            release_walk("$dir/$name", 0, $meta, $mtime);
            next;
        }

        next unless -f _;

        $$mtime = $st[9] if $st[9] > $$mtime;
    }
}

sub slurp {
    my ($file) = @_;

    open my $fh, '<:raw', $file or die "cannot read $file: $!\n";
    local $/;
    my $data = <$fh>;

    return $data;
}

sub json_str {
    my ($s) = @_;

    $s =~ s{(["\\])}{\\$1}g;
    $s =~ s{([\x00-\x1f])}{sprintf '\\u%04x', ord $1}ge;

    return qq{"$s"};
}

sub release_parts {
    my ($dir, $version, $prefix, $client) = @_;

    my (%meta, $full, %delta);
    my $mtime = 0;

    release_walk($dir, 1, \%meta, \$mtime);

    for my $name (sort keys %meta) {
        next if length $name > 4 && $name =~ /\.sig\z/;

        my $size = $meta{$name}[1];

        if (length $name > 5 && $name =~ /^full\./) {
            $full = $name if !defined $full || $size < $meta{$full}[1];
            next;
        }

        next unless $name =~ /^from-(\d+(?:\.\d+){0,3})\.(.+)\z/;

        my $from = $1;
        my ($base) = grep { version_cmp($_, $from) == 0 } keys %delta;

        if (!defined $base) {
            $delta{$from} = $name;

        } elsif ($size < $meta{$delta{$base}}[1]) {
            delete $delta{$base};
            $delta{$from} = $name;
        }
    }

    # a delta no smaller than the full archive is left out

    for my $from (keys %delta) {
        delete $delta{$from}
            if defined $full && $meta{$delta{$from}}[1] >= $meta{$full}[1];
    }

    my ($name, $from);

    if (defined $client) {
        ($from) = grep { version_cmp($_, $client) == 0 } keys %delta;
        $name = $delta{$from} if defined $from;
    }

    $name //= $full;

    my $artifact = '';

    if (defined $name) {
        (my $url = ".update/$name")
            =~ s{([^A-Za-z0-9._~/-])}{sprintf '%%%02X', ord $1}ge;

        $artifact = qq(,"url":"$prefix$url","artifact":{"type":)
                    . (defined $from ? qq{"delta","from":"$from"} : '"full"')
                    . sprintf(',"size":%d,"sha256":"%s"}', $meta{$name}[1],
                              sha256_hex(slurp($meta{$name}[0])));

        if ($meta{"$name.sig"}) {
            (my $sig = slurp($meta{"$name.sig"}[0])) =~ s/[\r\n ]+\z//;
            $artifact .= ',"signature":' . json_str($sig);
        }
    }

    my @t = gmtime $mtime;
    my $mid = sprintf ',"name":"%s","pub_date":"%04d-%02d-%02dT%02d:%02d:%02dZ"',
                      $version, $t[5] + 1900, $t[4] + 1, @t[3, 2, 1, 0];

    if ($meta{'notes.txt'}) {
        (my $notes = slurp($meta{'notes.txt'}[0])) =~ s/[\r\n ]+\z//;
        $mid .= ',"notes":' . json_str($notes) if length $notes;
    }

    return ($artifact, $mid);
}

sub write_file {
    my ($file, $data) = @_;

    make_path(dirname($file));
    open my $fh, '>:raw', $file or die "cannot write $file: $!\n";
    print $fh $data;
    close $fh or die "cannot write $file: $!\n";
}

our $root = cwd() . '/t/releases-input';

remove_tree($root);

for my $version (keys %RELEASES) {
    for my $path (keys %{ $RELEASES{$version} }) {
        write_file("$root/$version/$path", $RELEASES{$version}{$path});
    }
}

# an SSI page that asks the same question with the same client key in two
# locations, one reading it from $arg_client, the other through a value
# with variables: "A#B;" per key

our @KEYS = map { "key-$_" } 1 .. 40;

write_file("$root/ssi/sticky.html", join '', map {
    qq{<!--# include virtual="/update/check?version=1.6.0&client=$_" -->#}
    . qq{<!--# include virtual="/cv/check?version=1.6.0&c=$_" -->;\n}
} @KEYS);

$ENV{TEST_NGINX_RELEASES} = $root;

run_tests();

__DATA__

=== TEST 1: a header, a cookie: a mandatory upgrade with a server
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
