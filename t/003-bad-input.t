# Bad input: every refused request is a 400 (405 for a method other than
# GET and HEAD) with a JSON body and no 5xx; request bodies are discarded.

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

our $root = cwd() . '/t/releases-bad-input';

remove_tree($root);

for my $version (keys %RELEASES) {
    for my $path (keys %{ $RELEASES{$version} }) {
        write_file("$root/$version/$path", $RELEASES{$version}{$path});
    }
}

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
);

$ENV{TEST_NGINX_RELEASES} = $root;

run_tests();

__DATA__

=== TEST 1: no version: 400 with a JSON body
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
--- request eval
[map { "GET /update/check?version=$_" }
 ('1..2', '1.2.3.4.5', 'abc', '1234567890', '1.1234567890',
  '1.2.x', '1.2.', '.1', '1.2.*', '*',
  '-1', '1.5.0-1.9.0', '%201.2', '1%2E2', 'v1.2',
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
GET /update/check?a=1&version_x=9&b&version=0.5&c=%20&server_id=x&clients=y&=z&d=
--- error_code: 200
--- response_body eval
main::manifest("2.0.0", 1)
--- no_error_log
[alert]
[emerg]
[crit]



=== TEST 18: a long query string
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
