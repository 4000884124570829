# Load shaping with 2 workers, reloads and the clock:
#
#  - the cap across 2 workers (reuseport spreads the connections): offered
#    10 times its rate for 6 s by sim/launchers.c, the grants are at most
#    rate * elapsed + burst and at least 97% of rate * 6 s, both workers
#    granted, and every deferral has a Retry-After of 1..86400 s, spread;
#  - the cap's state is kept across a reload (SIGHUP): a spent cap stays
#    spent in the new workers;
#  - a ramp's steps begin at their times (steps 3 s apart, from a time the
#    test computes), polled with a bound, and a reload in the middle keeps
#    the position.
#
# Plain Test::More: starts its own nginx (master + 2 workers) on
# 127.0.0.1, port TEST_NGINX_PORT + 190; needs a C compiler for
# sim/launchers.c (or STAGED_UPDATE_SIM_LAUNCHERS, a built one).

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Spec;
use FindBin;
use IO::Socket::INET;
use POSIX qw(strftime);
use Time::HiRes qw(time sleep);

my $modules = $ENV{TEST_NGINX_LOAD_MODULES};

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set: it must name the '
                 . 'dynamic module (or be empty for an nginx with the module '
                 . 'built in)'
    unless defined $modules;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';
my @modules = map { File::Spec->rel2abs($_) } split ' ', $modules;
my $PORT = ($ENV{TEST_NGINX_PORT} || 1984) + 190;
my $WAIT = 10;

my $root = tempdir('staged-update-shape-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $prefix = "$root/nginx";
my $pidfile = "$prefix/nginx.pid";
my $master;

make_path("$prefix/logs", "$root/rel/2.0.0/.update");
write_file("$root/rel/2.0.0/version.txt", "version=2.0.0\n");
write_file("$root/rel/2.0.0/.update/full.tar.gz", "the archive\n");

my $launchers = $ENV{STAGED_UPDATE_SIM_LAUNCHERS};

unless ($launchers) {
    $launchers = "$root/launchers";
    system('cc', '-O2', '-o', $launchers, "$FindBin::Bin/../sim/launchers.c",
           '-lm') == 0
        or plan skip_all => 'cannot build sim/launchers.c';
}

END { stop_nginx() }
$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };


# --- the cap across 2 workers --------------------------------------------

my $RATE = 50;
my $BURST = 5;
my $SECONDS = 6;

start_nginx(conf(1, "default 100%;\n rate $RATE/s burst=$BURST;"));

my $t0 = time;
my $csv = `'$launchers' --port $PORT --path /check --n ${\($RATE * 10 * $SECONDS)} --day $SECONDS --curve flat --no-retry --version 1.5 --conns 16 2>/dev/null`;
my $elapsed = time - $t0;

my ($grants, $deferred) = (0, 0);
for (split /\n/, $csv) {
    my @f = split /,/;
    next unless $f[0] =~ /^\d+$/;
    $grants += $f[2];
    $deferred += $f[4];
}

note("$grants grants, $deferred deferrals in $elapsed s");

ok($grants <= $RATE * $elapsed + $BURST,
   "grants $grants <= rate * $elapsed s + burst");
ok($grants >= 0.97 * $RATE * $SECONDS,
   "grants $grants reach the cap offered 10 times its rate");
ok($deferred >= $RATE * 8 * $SECONDS, "the rest is deferred ($deferred)");

my (%by_pid, %retry, $bad_retry);
for (split /\n/, read_file("$prefix/logs/access.log")) {
    my ($pid, $decision, $ra) = split / /;
    $by_pid{$pid}++ if $decision eq 'upgrade';
    if ($decision eq 'deferred') {
        $retry{$ra}++;
        $bad_retry++ unless $ra =~ /^\d+$/ && $ra >= 1 && $ra <= 86400;
    }
}

is(scalar(keys %by_pid), 2, 'both workers granted')
    or diag(explain(\%by_pid));
ok(!$bad_retry, 'every deferral has a Retry-After of 1 to 86400 s');
ok(keys(%retry) >= 10, 'Retry-After values are spread: '
                       . scalar(keys %retry) . ' distinct values');


# --- the cap's state across a reload ---------------------------------------

# a track of its own: a new bucket (the one above is spent)

reload(conf(2, "default 100%;\n rate 1/m burst=2;", 'game2'), 2);

my @codes = map { check('version=1.5')->{status} } 1 .. 3;
is("@codes", '200 200 204', 'the burst of 2, then a deferral');

reload(conf(3, "default 100%;\n rate 1/m burst=2;", 'game2'), 3);

my $r = check('version=1.5');
is($r->{status}, 204, 'after a reload the cap is still spent');
is($r->{rule}, 'game2:rate', 'deferred by the rate');
ok($r->{retry} && $r->{retry} > 1, "with Retry-After: $r->{retry}");


# --- a ramp's steps at their times, and a reload in the middle ------------

my $from = int(time) + 3;
my $every = 3;

reload(conf(4, "ramp r 0% 50% 100% every ${every}s from "
               . strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $from) . ";\n"
               . " default ramp:r;"), 4);

my %first = poll_pct('50.00', $from + 3 * $every + 5);

ok(defined $first{'0.00'} && $first{'0.00'} < $from + $every,
   '0% before the second step');
ok(defined $first{'50.00'}, '50% seen');
ok($first{'50.00'} >= $from + $every,
   sprintf('50%% not before its time (%.2f s after)',
           ($first{'50.00'} // 0) - $from - $every));
ok($first{'50.00'} < $from + $every + 1.5, '50% at its time');

reload(conf(5, "ramp r 0% 50% 100% every ${every}s from "
               . strftime('%Y-%m-%dT%H:%M:%SZ', gmtime $from) . ";\n"
               . " default ramp:r;"), 5);

my $at = time;
my $pct = check('version=1.5&client=k')->{pct};
ok($pct eq '50.00' || ($pct eq '100.00' && $at >= $from + 2 * $every - 0.5),
   "after a reload the ramp keeps its position ($pct)");

%first = poll_pct('100.00', $from + 3 * $every + 5);
ok(defined $first{'100.00'} && $first{'100.00'} >= $from + 2 * $every,
   sprintf('100%% not before its time (%.2f s after)',
           ($first{'100.00'} // 0) - $from - 2 * $every));
ok($first{'100.00'} && $first{'100.00'} < $from + 2 * $every + 1.5,
   '100% at its time');

stop_nginx();
done_testing();


# ---------------------------------------------------------------------------

# polls the percentage every 50 ms until $want or $deadline: the time each
# percentage was first seen

sub poll_pct {
    my ($want, $deadline) = @_;
    my %first;

    while (time < $deadline) {
        my $now = time;
        my $p = check('version=1.5&client=k')->{pct} // 'none';
        $first{$p} //= $now;
        last if $p eq $want;
        sleep 0.05;
    }

    return %first;
}


sub conf {
    my ($gen, $lines, $track) = @_;
    $track //= 'game';
    my $load = join '', map { "load_module $_;\n" } @modules;

    return <<"EOF";
$load
worker_processes 2;
pid $pidfile;
error_log $prefix/logs/error.log warn;
events { worker_connections 256; }
http {
    log_format shape '\$pid \$staged_update_decision \$sent_http_retry_after';
    access_log $prefix/logs/access.log shape;
    staged_update_zone updates 1m;
    staged_update_track $track {
        zone updates;
        latest 2.0.0 $root/rel/2.0.0;
        $lines
    }
    server {
        listen 127.0.0.1:$PORT reuseport;
        location = /check {
            staged_update $track;
            add_header X-Gen $gen always;
            add_header X-Pid \$pid always;
        }
    }
}
EOF
}


sub check {
    my ($args) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $PORT, Timeout => 5)
        or return {};

    print $sock "GET /check?$args HTTP/1.0\r\nHost: x\r\n\r\n";
    local $/;
    my $res = <$sock> // '';
    my %h;
    $h{ lc $1 } = $2 while $res =~ /^([A-Za-z-]+):[ \t]*(.*?)\r$/mg;

    return {
        status => ($res =~ m{^HTTP/1\.\d (\d+)} ? $1 : 0),
        pct    => $h{'x-update-percent'},
        rule   => $h{'x-update-rule'},
        retry  => $h{'retry-after'},
        gen    => $h{'x-gen'} // 0,
        pid    => $h{'x-pid'},
    };
}


sub start_nginx {
    my ($text) = @_;

    write_file("$prefix/nginx.conf", $text);
    system($nginx, '-p', "$prefix/", '-c', "$prefix/nginx.conf") == 0
        or BAIL_OUT('nginx did not start: '
                    . read_file("$prefix/logs/error.log"));

    # until both workers answer (reuseport: a new connection may reach
    # either; a worker slow to start would leave the load to the other)

    my $deadline = time + $WAIT;
    my %pids;

    while (keys %pids < 2 && time < $deadline) {
        my $h = check('version=2.0.0');
        $pids{ $h->{pid} }++ if ($h->{gen} // 0) == 1 && $h->{pid};
        sleep 0.02;
    }

    ($master) = read_file($pidfile) =~ /(\d+)/;
    BAIL_OUT('nginx does not answer') unless $master;
}


# a reload, and a wait until both new workers answer (reuseport: each
# new connection may reach either, so a few answers of the new generation)

sub reload {
    my ($text, $gen) = @_;

    write_file("$prefix/nginx.conf", $text);
    kill 'HUP', $master;

    my $deadline = time + $WAIT;
    my $seen = 0;

    while (time < $deadline && $seen < 20) {
        my $g = check('version=2.0.0')->{gen} // 0;
        $seen = ($g == $gen) ? $seen + 1 : 0;
        sleep 0.02;
    }

    ok($seen >= 20, "reload $gen: the new workers answer");
}


sub stop_nginx {
    return unless $master;

    my $pid = $master;
    undef $master;
    kill 'QUIT', $pid;

    my $deadline = time + $WAIT;
    sleep 0.05 while kill(0, $pid) && time < $deadline;
    kill 'KILL', $pid if kill 0, $pid;
}


sub write_file {
    my ($path, $text) = @_;
    open my $fh, '>', $path or die "$path: $!\n";
    print $fh $text;
    close $fh;
}


sub read_file {
    my ($path) = @_;
    open my $fh, '<', $path or return '';
    local $/;
    return <$fh>;
}
