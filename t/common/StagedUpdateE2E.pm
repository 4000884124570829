# Copyright (C) The ngx_http_staged_update_module authors
#
# Helpers of the plain Test::More end-to-end files (t/1xx): files, commands,
# ports, install trees.  t/106 uses them; the older files carry copies.

package StagedUpdateE2E;

use strict;
use warnings;

use Exporter qw(import);
use File::Find;
use File::Spec;
use IO::Socket::INET;
use Time::HiRes qw(time sleep);

our @EXPORT_OK = qw(sys wait_port write_file read_file tree);


sub sys {
    my ($cmd) = @_;
    system($cmd) == 0 or die "failed: $cmd\n";
}

# waits (at most 10 s) until 127.0.0.1:$port accepts; dies with $log's text

sub wait_port {
    my ($port, $log) = @_;
    my $deadline = time + 10;

    while (time < $deadline) {
        return if IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                        PeerPort => $port);
        sleep 0.05;
    }

    die "nothing listens on 127.0.0.1:$port\n"
        . (defined $log ? read_file($log) : '');
}

sub write_file {
    my ($file, $text) = @_;
    open my $fh, '>', $file or die "$file: $!\n";
    binmode $fh;
    print $fh $text;
    close $fh or die "$file: $!\n";
}

# the file's bytes, or '' when it cannot be read

sub read_file {
    my ($file) = @_;
    open my $fh, '<', $file or return '';
    binmode $fh;
    local $/;
    return scalar <$fh> // '';
}

# path => content of the files of an installation, .launcher/ and .update/
# left out

sub tree {
    my ($dir) = @_;
    my %t;

    find({ no_chdir => 1, wanted => sub {
        my $rel = File::Spec->abs2rel($File::Find::name, $dir);
        if (-d $_ && $rel =~ m{^\.(?:launcher|update)$}) {
            $File::Find::prune = 1;
            return;
        }
        $t{$rel} = read_file($_) if -f $_;
    } }, $dir);

    return %t;
}

1;
