# Installations per version, end to end: distinct client keys checked on
# three versions (1,000, 10,000 and 100,000 keys: "client-0", "client-1",
# ..., fixed, so the estimates are the same at every run) are estimated
# within 2% (the sketch's standard error is 0.81%); checking the same keys
# again moves no estimate, while the checks are counted again.  The checks
# go pipelined on keep-alive connections, 4 at once, so that both workers
# count into the same sketches.
#
# Plain Test::More: nginx on 127.0.0.1, port TEST_NGINX_PORT + 121.

use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/common";
use StagedUpdateStatus;
use Test::More;
use POSIX ();
use Time::HiRes qw(time);

StagedUpdateStatus::skip_unless_nginx();

my $t = StagedUpdateStatus->new(port_offset => 121);

$t->start(counters => 'counters versions=8 installations=8;');

my %sizes = ('1.8.1' => 1_000, '1.8.2' => 10_000, '1.8.3' => 100_000);
my %first;

for my $round (1, 2) {
    my $start = time;

    for my $v (sort keys %sizes) {
        my @paths = map { "/update/check?version=$v&client=client-$_" }
                    0 .. $sizes{$v} - 1;

        run_parallel(\@paths, 4);
    }

    note(sprintf 'round %d: %d checks in %.1f s', $round,
         1_000 + 10_000 + 100_000, time - $start);

    my $j = $t->status_json;
    my ($track) = @{ $j->{tracks} };

    for my $v (sort keys %sizes) {
        my ($x) = grep { $_->{version} eq $v } @{ $track->{versions} };
        my $n = $sizes{$v};

        is($x->{checks}, $round * $n, "$v: $x->{checks} checks counted");

        my $e = $x->{installations};

        ok(defined $e && abs($e - $n) <= 0.02 * $n,
           "$v: $n distinct keys estimated $e, within 2%"
           . ($round == 2 ? ', the same keys again' : ''));

        if ($round == 1) {
            $first{$v} = $e;

        } else {
            is($e, $first{$v}, "$v: the same keys again do not move "
                                     . 'the estimate');
        }
    }
}

$t->stop;

done_testing();


# the paths, split among n processes, each on its own connection

sub run_parallel {
    my ($paths, $n) = @_;

    my @pids;

    for my $k (0 .. $n - 1) {
        my $pid = fork // die "fork: $!\n";

        if ($pid == 0) {
            my @mine = @$paths[ grep { $_ % $n == $k } 0 .. $#$paths ];
            my $answers = eval { $t->pipeline(\@mine, 500) };

            if (!$answers) {
                print STDERR "client $k: $@";
                POSIX::_exit(2);
            }

            my ($bad) = grep { $_->[0] != 204 && $_->[0] != 200 } @$answers;

            print STDERR "client $k: $bad->[0] $bad->[2]\n" if $bad;
            print STDERR "client $k: " . @$answers . " answers of " . @mine
                         . "\n" if @$answers != @mine;

            POSIX::_exit($bad || @$answers != @mine ? 1 : 0);
        }

        push @pids, $pid;
    }

    my $failed = 0;

    for (@pids) {
        waitpid $_, 0;
        $failed++ if $?;
    }

    die "a client got an error answer; the error log:\n"
        . join("\n", grep { /\[(?:alert|crit|emerg|error|info)\]/ }
                          split /\n/, $t->error_log) . "\n"
        if $failed;
}
