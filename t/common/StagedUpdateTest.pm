# Copyright (C) The ngx_http_staged_update_module authors

package StagedUpdateTest;

# What the test files t/001-*.t .. t/006-*.t share: writing their release
# directories and computing the manifests the module must answer with.
# Each file keeps its own data (its %RELEASES table and the name of its
# folder of releases) and passes it to write_releases().  Load it with
#
#     use FindBin;
#     use lib "$FindBin::Bin/common";
#     use StagedUpdateTest qw(write_releases manifest ...);
#
# (t/common, not t/lib: t/lib holds the fallback Test::Nginx harness, which
# must not shadow the CPAN one when that one is used.)  The names are
# imported into package main, where the "--- ... eval" sections call them
# as main::manifest(...) and so on.  Nothing here depends on the harness.

use strict;
use warnings;

use Cwd qw(cwd);
use Digest::SHA qw(sha256_hex);
use Exporter qw(import);
use File::Basename qw(dirname);
use File::Path qw(make_path remove_tree);

our @EXPORT_OK = qw(
    write_releases manifest release_parts version_cmp write_file slurp
    json_str $GAME_TRACK default_http_config bucket
);

# set by write_releases(): the folder of the release directories and the
# table of their files, both used by manifest()

my ($Root, $Releases);

# write the release directories of %$releases (version => { path => bytes })
# into t/<name> below the current directory, emptied first; the folder is
# also $ENV{TEST_NGINX_RELEASES}, for the configurations; returns the folder

sub write_releases {
    my ($name, $releases) = @_;

    $Root     = cwd() . "/t/$name";
    $Releases = $releases;

    remove_tree($Root);

    for my $version (keys %$releases) {
        for my $path (keys %{ $releases->{$version} }) {
            write_file("$Root/$version/$path", $releases->{$version}{$path});
        }
    }

    $ENV{TEST_NGINX_RELEASES} = $Root;

    return $Root;
}

# the answer with the files of a release, as the module must build it:
# dir is the release directory (by default the version's), client the
# version of the client, which picks its delta if the release has one; the
# files are those of the table given to write_releases(), which is read at
# every call (so a "local" change of one of its entries counts)

sub manifest {
    my ($version, $mandatory, $server, $prefix, %opt) = @_;

    $prefix //= "/releases/$version/";

    my ($artifact, $mid) = release_parts($opt{dir} // "$Root/$version",
                                          $version, $prefix, $opt{client});

    my $files = $Releases->{$version};
    my @files;

    for my $path (sort grep { !m{^\.update/} } keys %$files) {
        (my $url = $path) =~ s{([^A-Za-z0-9._~/-])}{sprintf '%%%02X', ord $1}ge;
        push @files, sprintf '{"path":%s,"size":%d,"sha256":"%s","url":"%s%s"}',
                             json_str($path), length $files->{$path},
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

# the bucket 0-9999 of a sticky draw, as README says: FNV-1a 64 of
# "<track>/<normalized target>/<client>", the MurmurHash3 finalizer, then
# ((h >> 32) * 10000) >> 32; in 64-bit integers that wrap

sub bucket {
    my ($s) = @_;

    no warnings 'portable';
    use integer;

    my $h = 0xcbf29ce484222325;

    for my $c (unpack 'C*', $s) {
        $h ^= $c;
        $h *= 0x100000001b3;
    }

    # logical shifts: "use integer" shifts right arithmetically

    $h ^= ($h >> 33) & 0x7fffffff;
    $h *= 0xff51afd7ed558ccd;
    $h ^= ($h >> 33) & 0x7fffffff;
    $h *= 0xc4ceb9fe1a85ec53;
    $h ^= ($h >> 33) & 0x7fffffff;

    return ((($h >> 32) & 0xffffffff) * 10000) >> 32;
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

# the track "game" that most blocks of t/003-*.t and t/005-*.t run with:
# latest 2.0.0, minimum 1.0.0, 10% by default and 50% for 1.5.0-1.9.*; the
# server shard-1 with latest 1.9.0, minimum 1.5.0, 20% by default and 60%
# for 1.7.*

our $GAME_TRACK = <<'END';
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
END

# for a block preprocessor: a block without a "--- http_config" section of
# its own gets $config, as in
#
#     add_block_preprocessor(sub { default_http_config(shift, $GAME_TRACK) });

sub default_http_config {
    my ($block, $config) = @_;

    $block->set_value(http_config => $config)
        unless defined $block->http_config;
}

1;
