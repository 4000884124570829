# Copyright (C) The ngx_http_staged_update_module authors
#
# Statistics of the draw: for each configured percentage, over at least
# 10,000 checks (fresh random draws without a client key, and sticky draws
# with distinct client keys), the number of upgrades lies inside the exact
# 99.99% binomial interval; a sticky client gets the same answer from every
# worker and from two separate nginx instances; a new target reshuffles.
#
# Plain Test::More, no Test::Nginx: the file starts its own nginx instances
# (master + 2 workers, daemon) on 127.0.0.1, ports TEST_NGINX_PORT + 100 and
# + 101 (TEST_NGINX_PORT defaults to 1984), and talks HTTP/1.1 keep-alive
# over a few connections at once.
#
#   TEST_NGINX_LOAD_MODULES=/path/ngx_http_staged_update_module.so \
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -v t/100-statistics.t

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Spec;
use IO::Socket::INET;
use IO::Select;
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(time sleep);

my $ALPHA = 1e-4;          # a 99.99% interval
my $N     = 10_000;        # checks per percentage and kind of draw
my $NKEYS = 2_000;         # keys of the worker and instance comparisons
my $CONNS = 16;            # keep-alive connections per batch
my $DEPTH = 1;             # requests in flight per connection: no
                           # pipelining, whose unaligned reads in nginx's
                           # request line parser abort a UBSan build

my $modules = $ENV{TEST_NGINX_LOAD_MODULES};

# unset: skip; empty (as in "make asan-test"): the module is built into
# the nginx binary

plan skip_all => 'TEST_NGINX_LOAD_MODULES is not set: it must name the '
                 . 'dynamic module ngx_http_staged_update_module.so (or be '
                 . 'empty for an nginx with the module built in)'
    unless defined $modules;

my $nginx = $ENV{TEST_NGINX_BINARY} || '/usr/sbin/nginx';

plan skip_all => "nginx binary \"$nginx\" is not executable "
                 . '(set TEST_NGINX_BINARY)'
    unless -f $nginx && -x _;

my @modules = map { File::Spec->rel2abs($_) } split ' ', $modules;

for (@modules) {
    die "TEST_NGINX_LOAD_MODULES: \"$_\" does not exist\n" unless -f $_;
}

my $base   = ($ENV{TEST_NGINX_PORT} || 1984) + 100;
my $PORT_A = $base;
my $PORT_B = $base + 1;

my $root = tempdir('staged-update-stats-XXXXXX', TMPDIR => 1, CLEANUP => 1);

my %running;               # name => { prefix, pidfile, pids => {} }

# stop every instance also on die, a failed test, ^C or a stuck run; this
# END block runs before File::Temp's, which removes the prefixes

END {
    local $?;
    stop_instance($_) for sort keys %running;
}

$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };
$SIG{ALRM} = sub { die "the test took more than 300 s, giving up\n" };
alarm 300;


# the cases: version [, server] -> the rule that decides and its percentage

my @CASES = (
    { name => '0.5%',   version => '1.1.0', pct => 0.5,
      rule => 'game:1.1.*' },
    { name => '10%',    version => '1.2.0', pct => 10,
      rule => 'game:1.2.*' },
    { name => '33.33%', version => '1.3.0', pct => 33.33,
      rule => 'game:1.3.*' },
    { name => '50%',    version => '1.4.0', pct => 50,
      rule => 'game:1.4.*' },
    { name => '90%',    version => '1.5.0', pct => 90,
      rule => 'game:1.5.*' },
    { name => 'server shard-a 25%', version => '1.5.0', server => 'shard-a',
      pct => 25, rule => 'shard-a:default', target => '1.9.0' },
    { name => 'default 0%', version => '1.7.0', pct => 0,
      rule => 'game:default' },
    { name => 'rule 100%', version => '1.6.0', pct => 100,
      rule => 'game:1.6.*' },
    { name => 'minimum 100%', version => '0.9.0', pct => 100,
      rule => 'game:minimum', mandatory => 1 },
);


# instance A: the whole statistics

if (!start_instance('a', $PORT_A, '2.0.0', 'may skip')) {
    plan skip_all => "TEST_NGINX_LOAD_MODULES is empty and $nginx has no "
                     . 'staged_update directives';
}

my %sticky_a;              # case name => [ statuses of k0 .. k<N-1> ]

for my $case (@CASES) {
    my $target = $case->{target} || '2.0.0';

    for my $kind ('random', 'sticky') {
        my @paths = map {
            check_path($case, $kind eq 'sticky' ? "k$_" : undef)
        } 0 .. $N - 1;

        my $res = exchange($PORT_A, \@paths);

        check_answers("A $kind $case->{name}", $case, $target, $res);
        check_share("A $kind $case->{name}", $case->{pct}, $res);

        $sticky_a{$case->{name}} = [ map { $_->{status} } @$res ]
            if $kind eq 'sticky';
    }
}

# "raising a percentage only adds clients": same target, nested sets

{
    my @chain = ('default 0%', '0.5%', '10%', '33.33%', '50%', '90%',
                 'rule 100%');
    my $bad = 0;

    for my $i (1 .. $#chain) {
        my ($lo, $hi) = @sticky_a{ @chain[$i - 1, $i] };

        for my $k (0 .. $N - 1) {
            if ($lo->[$k] == 200 && $hi->[$k] != 200) {
                diag("k$k upgrades at $chain[$i - 1] but not at $chain[$i]")
                    if $bad++ < 5;
            }
        }
    }

    is($bad, 0, 'sticky: a key upgraded at a percentage is upgraded at '
                . 'every higher percentage of the same target');
}


# the keys of the comparisons: every fractional case, in turn

my @FRACTIONAL = grep { $_->{pct} > 0 && $_->{pct} < 100 } @CASES;

my @cmp_paths = map {
    check_path($FRACTIONAL[$_ % @FRACTIONAL], "w$_")
} 0 .. $NKEYS - 1;


# stickiness across the workers of instance A

{
    my %by_pid;            # pid => a connection held by that worker

    for my $try (1 .. 500) {
        my $c = conn_open($PORT_A);
        my $res = exchange([$c], [ check_path($CASES[0], undef) ]);
        my $pid = $res->[0]{pid};

        if (!defined $pid || $by_pid{$pid}) {
            close $c->{sock};
            next;
        }

        $by_pid{$pid} = $c;
        last if keys %by_pid >= 2;
    }

    my @pids = sort { $a <=> $b } keys %by_pid;
    $running{a}{pids}{$_} = 1 for @pids;

    is(scalar @pids, 2, 'instance A: both workers answered (pids '
                        . join(', ', @pids) . ')');

    SKIP: {
        skip 'one worker only was reached', 3 unless @pids == 2;

        my %res;

        for my $pid (@pids) {
            $res{$pid} = exchange([ $by_pid{$pid} ], \@cmp_paths);
        }

        my $foreign = grep {
            my $pid = $_;
            grep { ($_->{pid} // '') ne $pid } @{ $res{$pid} }
        } @pids;

        is($foreign, 0, 'each keep-alive connection stayed with its worker');

        my ($ra, $rb) = @res{@pids};

        check_answers("worker $pids[0]", undef, undef, $ra);
        check_answers("worker $pids[1]", undef, undef, $rb);

        my @diff = grep { $ra->[$_]{status} != $rb->[$_]{status} }
                   0 .. $NKEYS - 1;

        is(scalar @diff, 0, "sticky: $NKEYS keys get the same answer from "
                            . "worker $pids[0] and worker $pids[1]")
            or diag("first differing key: $cmp_paths[$diff[0]]");

        my $up = grep { $_->{status} == 200 } @$ra;

        ok($up > 0 && $up < $NKEYS,
           "the comparison is not trivial: $up of $NKEYS keys upgrade");
    }

    close $_->{sock} for values %by_pid;
}


# a second instance with the same configuration

start_instance('b', $PORT_B, '2.0.0');

{
    my $ra = exchange($PORT_A, \@cmp_paths);
    my $rb = exchange($PORT_B, \@cmp_paths);

    check_answers('instance A', undef, undef, $ra);
    check_answers('instance B', undef, undef, $rb);

    my @diff = grep { $ra->[$_]{status} != $rb->[$_]{status} }
               0 .. $NKEYS - 1;

    is(scalar @diff, 0, "sticky: $NKEYS keys get the same answer from two "
                        . 'separate nginx instances')
        or diag("first differing key: $cmp_paths[$diff[0]]");
}

stop_instance('b', 'check');


# the second instance again, with a new target: 2.0.1 reshuffles

start_instance('b2', $PORT_B, '2.0.1');

for my $case (@FRACTIONAL) {
    my $server_case = defined $case->{server};
    my $target = $case->{target} || '2.0.1';
    my @paths = map { check_path($case, "k$_") } 0 .. $N - 1;
    my $res = exchange($PORT_B, \@paths);
    my $name = "B (latest 2.0.1) sticky $case->{name}";

    check_answers($name, $case, $target, $res);
    check_share($name, $case->{pct}, $res);

    my $was = $sticky_a{ $case->{name} };
    my $diff = grep { $was->[$_] != $res->[$_]{status} } 0 .. $N - 1;

    if ($server_case) {

        # the server's own target, 1.9.0, did not change

        is($diff, 0, "$name: target $target unchanged, the same $N keys "
                     . 'get the same answers as on A');
        next;
    }

    # independent draws for the two targets disagree with the chance
    # 2p(1 - p), where the same draws would never disagree

    my $p = $case->{pct} / 100;
    my ($lo, $hi) = binomial_interval($N, 2 * $p * (1 - $p), $ALPHA);

    ok($diff >= $lo && $diff <= $hi,
       sprintf("%s: a new target reshuffles: %d of %d keys answer otherwise "
               . "than for 2.0.0, 99.99%% interval [%d, %d] for "
               . "independent draws", $name, $diff, $N, $lo, $hi));
}

stop_instance('b2', 'check');
stop_instance('a', 'check');

done_testing();


# ---------------------------------------------------------------------------

sub check_path {
    my ($case, $client) = @_;

    my $path = "/update/check?version=$case->{version}";
    $path .= "&server=$case->{server}" if defined $case->{server};
    $path .= "&client=$client" if defined $client;

    return $path;
}


# every answer: 200 or 204 with the trace of the expected rule and
# percentage; a 200 names the target and says whether it is mandatory.
# Without a case, the case is found from the request's version and server.

sub check_answers {
    my ($name, $case, $target, $res) = @_;
    my ($bad, $first) = (0, undef);

    for my $r (@$res) {
        my $c = $case || case_of($r->{path});
        my $t = $target || $c->{target} || '2.0.0';
        my $why;

        if ($r->{status} != 200 && $r->{status} != 204) {
            $why = "status $r->{status}";

        } elsif (($r->{pct} // '') ne sprintf('%.2f', $c->{pct})) {
            $why = 'X-Update-Percent ' . ($r->{pct} // 'missing')
                   . ', expected ' . sprintf('%.2f', $c->{pct});

        } elsif (($r->{rule} // '') ne $c->{rule}) {
            $why = 'X-Update-Rule ' . ($r->{rule} // 'missing')
                   . ", expected $c->{rule}";

        } elsif ($r->{status} == 200
                 && $r->{body} !~ /^\{"version":"\Q$t\E","mandatory":/)
        {
            $why = "a manifest that does not name $t: $r->{body}";

        } elsif ($r->{status} == 200
                 && ($r->{body} =~ /"mandatory":true/ ? 1 : 0)
                    != ($c->{mandatory} ? 1 : 0))
        {
            $why = "a wrong mandatory flag: $r->{body}";
        }

        if ($why) {
            $first //= "$r->{path}: $why";
            $bad++;
        }
    }

    is($bad, 0, "$name: every answer is 200/204 with the trace of "
                . ($case ? "$case->{rule} at " . sprintf('%.2f', $case->{pct})
                         : 'its rule')
                . ' and the manifest of ' . ($target || 'its target'))
        or diag("first: $first");
}


sub case_of {
    my ($path) = @_;

    my ($version) = $path =~ /[?&]version=([^&]*)/;
    my ($server) = $path =~ /[?&]server=([^&]*)/;

    for my $c (@CASES) {
        return $c if $c->{version} eq $version
                     && ($c->{server} // '') eq ($server // '');
    }

    die "no case for $path\n";
}


sub check_share {
    my ($name, $pct, $res) = @_;

    my $n = @$res;
    my $k = grep { $_->{status} == 200 } @$res;
    my ($lo, $hi) = binomial_interval($n, $pct / 100, $ALPHA);

    ok($k >= $lo && $k <= $hi,
       sprintf('%s: %d of %d upgrade (%.2f%%), configured %s%%, '
               . '99.99%% interval [%d, %d]',
               $name, $k, $n, 100 * $k / $n, $pct, $lo, $hi));
}


# The exact two-sided interval [lo, hi] of Binomial(n, p) with
# P(X < lo) <= alpha/2 and P(X > hi) <= alpha/2, from the pmf computed in
# logarithms (the recurrence pmf(k+1) = pmf(k) (n-k)/(k+1) p/(1-p)), each
# tail summed from its own end.

sub binomial_interval {
    my ($n, $p, $alpha) = @_;

    return (0, 0) if $p <= 0;
    return ($n, $n) if $p >= 1;

    my @pmf;
    my $l = $n * log(1 - $p);
    my $odds = log($p) - log(1 - $p);

    for my $k (0 .. $n) {
        $pmf[$k] = exp($l);
        $l += log(($n - $k) / ($k + 1)) + $odds if $k < $n;
    }

    my $sum = 0;
    $sum += $_ for @pmf;
    die "binomial_interval($n, $p): the pmf sums to $sum\n"
        if abs($sum - 1) > 1e-9;

    my ($lo, $hi, $tail);

    $tail = 0;
    for my $k (0 .. $n) {
        $tail += $pmf[$k];
        if ($tail > $alpha / 2) { $lo = $k; last }
    }

    $tail = 0;
    for my $k (reverse 0 .. $n) {
        $tail += $pmf[$k];
        if ($tail > $alpha / 2) { $hi = $k; last }
    }

    return ($lo, $hi);
}


# ---------------------------------------------------------------------------
# nginx instances

# starts an instance and waits until it accepts; dies when it does not
# start, but for a missing module with $may_skip: returns false

sub start_instance {
    my ($name, $port, $latest, $may_skip) = @_;

    my $prefix = "$root/$name";
    my $rel = "$prefix/releases";

    make_path("$prefix/logs", "$prefix/tmp", "$prefix/conf");

    write_release("$rel/$latest", $latest);
    write_release("$rel/1.9.0", '1.9.0');

    die "127.0.0.1:$port is already in use, another test or a stale nginx "
        . "(TEST_NGINX_PORT moves the ports)\n"
        if IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $port,
                                 Proto => 'tcp', Timeout => 2);

    my $load = join '', map { "load_module $_;\n" } @modules;
    my $conf = "$prefix/conf/nginx.conf";

    write_file($conf, <<"CONF");
$load
master_process on;
worker_processes 2;
daemon on;
pid $prefix/logs/nginx.pid;
error_log $prefix/error.log warn;

events {
    worker_connections 256;
}

http {
    access_log off;

    client_body_temp_path $prefix/tmp/body;
    proxy_temp_path       $prefix/tmp/proxy;
    fastcgi_temp_path     $prefix/tmp/fastcgi;
    uwsgi_temp_path       $prefix/tmp/uwsgi;
    scgi_temp_path        $prefix/tmp/scgi;

    keepalive_requests 1000000;
    keepalive_timeout  60s;

    staged_update_zone stats 1m;

    staged_update_track game {
        zone     stats;

        latest   $latest  $rel/$latest;
        minimum  1.0.0;
        default  0%;

        rule     1.1.*  0.5%;
        rule     1.2.*  10%;
        rule     1.3.*  33.33%;
        rule     1.4.*  50%;
        rule     1.5.*  90%;
        rule     1.6.*  100%;

        server   shard-a  latest=1.9.0  release=$rel/1.9.0  default=25%;
    }

    server {
        # reuseport: a socket per worker, so that connections from many
        # source ports reach both workers
        listen 127.0.0.1:$port reuseport;

        location = /update/check {
            staged_update       game;
            staged_update_trace on;
            add_header X-Pid \$pid always;
        }

        location / {
            return 404;
        }
    }
}
CONF

    my $pidfile = "$prefix/logs/nginx.pid";

    $running{$name} = { prefix => $prefix, pidfile => $pidfile, pids => {} };

    my $rc = system($nginx, '-p', "$prefix/", '-c', $conf,
                    '-e', "$prefix/error.log");

    if ($rc != 0) {
        delete $running{$name};

        my $log = read_file("$prefix/error.log");

        return 0 if $may_skip && !@modules
                    && $log =~ /unknown directive "staged_update/;

        die "nginx $name did not start (exit status " . ($rc >> 8) . "):\n"
            . $log;
    }

    my $deadline = time + 10;

    while (time < $deadline) {
        if (-s $pidfile
            && IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Proto => 'tcp',
                                     Timeout => 1))
        {
            note("nginx $name: master " . master_pid($name)
                 . ", 127.0.0.1:$port, latest $latest");
            return 1;
        }

        sleep 0.05;
    }

    die "nginx $name does not accept on 127.0.0.1:$port:\n"
        . read_file("$prefix/error.log");
}


# stops an instance; with $check, a test that its error log has no
# alert, crit or emerg (END stops without a test: the plan may be done)

sub stop_instance {
    my ($name, $check) = @_;

    my $inst = delete $running{$name} or return;
    my $pid = master_pid($inst);

    if ($pid && kill 'TERM', $pid) {
        my $deadline = time + 10;
        sleep 0.05 while alive($pid) && time < $deadline;

        if (alive($pid)) {
            warn "nginx master $pid did not stop, killing it\n";
            kill 'KILL', $pid, grep { alive($_) } keys %{ $inst->{pids} };
        }
    }

    my $log = read_file("$inst->{prefix}/error.log");
    my @bad = grep { /\[(?:alert|crit|emerg)\]/ } split /\n/, $log;

    if ($check) {
        is(scalar @bad, 0, "nginx $name: no alert, crit or emerg in its "
                           . 'error log')
            or diag(join "\n", @bad);

    } elsif (@bad) {
        diag("nginx $name logged:\n" . join("\n", @bad));
    }
}


sub master_pid {
    my ($inst) = @_;

    $inst = $running{$inst} unless ref $inst;
    return undef unless $inst && -s $inst->{pidfile};

    my ($pid) = read_file($inst->{pidfile}) =~ /(\d+)/;

    return $pid;
}


# gone, or a zombie that no init reaps

sub alive {
    my ($pid) = @_;

    return 0 unless kill 0, $pid;

    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        return 0 if $stat =~ /^\d+ \(.*\) Z/;
    }

    return 1;
}


sub write_release {
    my ($dir, $version) = @_;

    make_path("$dir/bin", "$dir/data");
    write_file("$dir/version.txt", "version=$version\n");
    write_file("$dir/bin/game", "#!/bin/sh\necho \"game $version\"\n");
    write_file("$dir/data/pack0.pak", "$version pack 0\n" x 64);
}


sub write_file {
    my ($file, $text) = @_;

    open my $fh, '>', $file or die "$file: $!\n";
    print $fh $text;
    close $fh or die "$file: $!\n";
}


sub read_file {
    my ($file) = @_;

    open my $fh, '<', $file or return '';
    local $/;
    return scalar <$fh>;
}


# ---------------------------------------------------------------------------
# HTTP/1.1 keep-alive over non-blocking sockets, $DEPTH requests in flight
# per connection

sub conn_open {
    my ($port) = @_;

    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $port, Proto => 'tcp',
                                     Timeout => 5)
        or die "connect to 127.0.0.1:$port: $!\n";

    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);
    $sock->blocking(0);

    return { sock => $sock, port => $port, rbuf => '', wbuf => '',
             inflight => [], reopened => 0 };
}


# Sends GET <path> for every path, over the given connections or over
# $CONNS new ones to a port; returns for each path, in order,
# { path, status, pct, rule, pid, body }.  A connection that the server
# closes is opened again and its unanswered requests are sent again.

sub exchange {
    my ($conns, $paths) = @_;

    my $own = !ref $conns;
    $conns = [ map { conn_open($conns) } 1 .. $CONNS ] if $own;

    my @res;
    my @retry;
    my $next = 0;
    my $done = 0;
    my $total = @$paths;
    my $progress = time;

    while ($done < $total) {

        for my $c (@$conns) {
            while (@{ $c->{inflight} } < $DEPTH) {
                my $i = @retry ? shift @retry
                      : $next < $total ? $next++
                      : last;

                push @{ $c->{inflight} }, $i;
                $c->{wbuf} .= "GET $paths->[$i] HTTP/1.1\r\n"
                              . "Host: localhost\r\n\r\n";
            }
        }

        my %by_fd = map { fileno($_->{sock}) => $_ } @$conns;
        my $rs = IO::Select->new(map { $_->{sock} }
                                 grep { @{ $_->{inflight} } } @$conns);
        my $ws = IO::Select->new(map { $_->{sock} }
                                 grep { length $_->{wbuf} } @$conns);

        my ($r, $w) = IO::Select->select($rs, $ws, undef, 1);

        if (!$r && !$w) {
            die "no answer from nginx for 10 s ($done of $total)\n"
                if time - $progress > 10;
            next;
        }

        for my $sock (@{ $w || [] }) {
            my $c = $by_fd{ fileno $sock } or next;
            my $n = syswrite($sock, $c->{wbuf});

            if (defined $n) {
                substr($c->{wbuf}, 0, $n, '');

            } elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) {
                reopen($c, \@retry);
            }
        }

        for my $sock (@{ $r || [] }) {
            my $fd = fileno $sock;
            next unless defined $fd;            # closed above

            my $c = $by_fd{$fd} or next;
            next unless $c->{sock} == $sock;    # reopened above

            my $n = sysread($sock, $c->{rbuf}, 262144, length $c->{rbuf});

            if (!defined $n) {
                next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR;
            }

            my $got = parse($c, $paths, \@res);

            if ($got) {
                $done += $got;
                $progress = time;
            }

            if (!$n || $c->{close}) {
                reopen($c, \@retry);
            }
        }
    }

    if ($own) {
        close $_->{sock} for @$conns;
    }

    return \@res;
}


sub parse {
    my ($c, $paths, $res) = @_;
    my $got = 0;

    while (@{ $c->{inflight} }) {
        my $end = index($c->{rbuf}, "\r\n\r\n");
        last if $end < 0;

        my $head = substr($c->{rbuf}, 0, $end);

        $head =~ m{\AHTTP/1\.[01] (\d{3})}
            or die "not an HTTP response: " . substr($c->{rbuf}, 0, 200)
                   . "\n";
        my $status = $1;

        my %h;
        for (split /\r\n/, $head) {
            $h{ lc $1 } = $2 if /^([^:]+):[ \t]*(.*?)[ \t]*$/;
        }

        my $len = 0;

        if ($status != 204 && $status != 304 && $status >= 200) {
            die "a response without Content-Length: $head\n"
                unless defined $h{'content-length'};
            $len = $h{'content-length'};
        }

        last if length($c->{rbuf}) < $end + 4 + $len;

        my $body = substr($c->{rbuf}, $end + 4, $len);
        substr($c->{rbuf}, 0, $end + 4 + $len, '');

        my $i = shift @{ $c->{inflight} };

        $res->[$i] = {
            path   => $paths->[$i],
            status => $status,
            pct    => $h{'x-update-percent'},
            rule   => $h{'x-update-rule'},
            pid    => $h{'x-pid'},
            body   => $body,
        };

        $got++;

        if (lc($h{connection} // '') eq 'close') {
            $c->{close} = 1;
            last;
        }
    }

    return $got;
}


sub reopen {
    my ($c, $retry) = @_;

    die "the server closed the connection " . $c->{reopened}
        . " times, giving up\n" if ++$c->{reopened} > 100;

    push @$retry, @{ $c->{inflight} };
    close $c->{sock};

    my $new = conn_open($c->{port});

    @$c{qw(sock rbuf wbuf inflight close)} =
        ($new->{sock}, '', '', [], 0);
}
