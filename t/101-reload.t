# Copyright (C) The ngx_http_staged_update_module authors
#
# Reloads and the shared memory zone of the tables: many reloads with the
# same zone size do not leak the tables of the old configurations; a
# reload that changes the zone size takes effect; a reload whose tables do
# not fit the zone is refused with the "too small" message while the
# running configuration keeps answering; checks keep being answered while
# reloads happen; and a sticky client key gets the same answer again once
# the first configuration is back.
#
# Plain Test::More, no Test::Nginx: the file starts its own nginx (master +
# 2 workers, daemon) on 127.0.0.1, port TEST_NGINX_PORT + 110
# (TEST_NGINX_PORT defaults to 1984), and reloads it with SIGHUP to the
# master ("nginx -s reload" would parse the configuration in a process of
# its own first and refuse a zone that is too small before the master ever
# sees it).
#
#   TEST_NGINX_LOAD_MODULES=/path/ngx_http_staged_update_module.so \
#   TEST_NGINX_BINARY=/usr/sbin/nginx prove -v t/101-reload.t
#
# The zone size: "nginx -t" with a deliberately tiny zone tells the bytes
# that one set of tables takes ("they take N bytes"); the zone is then made
# to hold about 2.5 sets, so that a reload finds room for the new set only
# if the set before the previous one was freed.  With a leak, the second
# reload after the start is refused.  A worker of the old configuration
# held back with SIGSTOP shows that the zone has no room for a third set.
#
# At the end: a worker killed with SIGKILL cannot take itself out of its
# set; the set is still freed once none of its workers is alive, so the
# reloads after it find room.

use strict;
use warnings;

use Test::More;
use File::Temp qw(tempdir);
use File::Path qw(make_path);
use File::Spec;
use IO::Socket::INET;
use IO::Select;
use POSIX qw(ceil _exit WNOHANG);
use Socket qw(IPPROTO_TCP TCP_NODELAY);
use Errno qw(EAGAIN EWOULDBLOCK EINTR);
use Time::HiRes qw(time sleep);

my $SERVERS  = 300;        # servers of the track: the size of a set
my $RELOADS  = 12;         # reloads with the same zone size
my $WAIT     = 10;         # seconds, at most, for a reload to settle
my $STICKY   = 200;        # keys per case of the stickiness comparison
my $POLLERS  = 4;          # keep-alive connections of the checks during
                           # reloads

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

my $PORT = ($ENV{TEST_NGINX_PORT} || 1984) + 110;

my $PAGE = POSIX::sysconf(POSIX::_SC_PAGESIZE()) || 4096;

my $root = tempdir('staged-update-reload-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $rel = "$root/releases";
my $prefix = "$root/nginx";
my $errlog = "$prefix/error.log";
my $pidfile = "$prefix/logs/nginx.pid";

my $PARENT = $$;
my $master;                # pid of the running master
my %seen;                  # every worker pid seen
my %stopped;               # workers stopped with SIGSTOP
my $poller;                # pid of the child that checks during reloads

# stop nginx and the poller also on die, a failed test, ^C or a stuck run;
# this END block runs before File::Temp's, which removes the prefix

END {
    if ($$ == $PARENT) {
        local $?;

        kill 'CONT', keys %stopped;

        if ($poller) {
            kill 'KILL', $poller;
            waitpid $poller, 0;
        }

        stop_nginx() if $master;
    }
}

$SIG{INT} = $SIG{TERM} = sub { die "killed by signal\n" };
$SIG{ALRM} = sub { die "the test took more than 150 s, giving up\n" };
$SIG{PIPE} = 'IGNORE';
alarm 150;

write_release("$rel/2.0.0", '2.0.0');
write_release("$rel/1.9.0", '1.9.0');
make_path("$prefix/logs", "$prefix/tmp", "$prefix/conf", "$root/t");


# ---------------------------------------------------------------------------
# the size of a set and of the zone, from "nginx -t"

my ($SET, $ZONE, $ZONE2);  # bytes of a set; zone sizes in k

{
    my ($rc, $log) = nginx_t(zone => 32, servers => $SERVERS);

    if ($rc != 0 && !@modules && $log =~ /unknown directive "staged_update/)
    {
        plan skip_all => "TEST_NGINX_LOAD_MODULES is empty and $nginx has "
                         . 'no staged_update directives';
    }

    my $re = too_small(32);

    ($SET) = $log =~ /$re: they take (\d+) bytes,/;

    die "nginx -t with a zone of 32k did not say how many bytes the tables "
        . "of $SERVERS servers take (exit status " . ($rc >> 8) . "):\n$log"
        unless $rc != 0 && $SET;

    # slab pages of one set (it is one allocation of whole pages), two
    # pages for the pool's header and its small allocations, and half a
    # set more than two sets: room for two sets, not for three

    my $pages = ceil($SET / $PAGE);
    my $bytes = (int(2.5 * $pages + 0.5) + 2) * $PAGE;

    $bytes = 32768 if $bytes < 32768;
    $bytes = ceil($bytes / 4096) * 4096;

    $ZONE = $bytes / 1024;
    $ZONE2 = $ZONE + 8;

    note("a set of tables of $SERVERS servers takes $SET bytes "
         . "($pages pages of $PAGE): zone of ${ZONE}k, then ${ZONE2}k");

    ($rc, $log) = nginx_t(zone => $ZONE, servers => $SERVERS);

    is($rc, 0, "nginx -t: a zone of ${ZONE}k holds one set of $SET bytes")
        or diag($log);

    # three tracks of the same size in one set: if their tables do not
    # fit, three separate sets do not either

    ($rc, $log) = nginx_t(zone => $ZONE, servers => $SERVERS, tracks => 3);

    ok($rc != 0 && $log =~ too_small($ZONE),
       "nginx -t: a zone of ${ZONE}k does not hold three sets")
        or diag("exit status " . ($rc >> 8) . ":\n$log");
}


# ---------------------------------------------------------------------------
# the first configuration and the answers of sticky keys

my %FIRST = (zone => $ZONE, servers => $SERVERS, pct => 10);

my @STICKY_CASES = (
    { q => 'version=1.8.0',             rule => 'game:default', pct => 10 },
    { q => 'version=1.5.2',             rule => 'game:1.5.*',   pct => 50 },
    { q => 'version=1.6.0&server=s150', rule => 's150:default', pct => 20 },
    { q => 'version=1.7.3&server=s299', rule => 's299:1.7.*',   pct => 60 },
);

my @sticky_paths;

for my $case (@STICKY_CASES) {
    push @sticky_paths, map { "/update/check?$case->{q}&client=key$_" }
                        0 .. $STICKY - 1;
}

start_nginx(%FIRST);

my $before = keepalive_answers(\@sticky_paths);

{
    my $bad = 0;
    my $first;

    for my $i (0 .. $#sticky_paths) {
        my $case = $STICKY_CASES[ int($i / $STICKY) ];
        my $why = answer_wrong($before->[$i], $case->{rule}, $case->{pct});

        if ($why) {
            $first //= "$sticky_paths[$i]: $why";
            $bad++;
        }
    }

    is($bad, 0, 'the first configuration answers ' . @sticky_paths
                . ' sticky checks with the trace of their rules')
        or diag("first: $first");
}


# ---------------------------------------------------------------------------
# 1. many reloads with the same zone size: the old sets are freed

{
    my $off = -s $errlog;
    my @failed;

    for my $k (1 .. $RELOADS) {
        my $pct = 10 + $k;
        my $r = reload(zone => $ZONE, servers => $SERVERS, pct => $pct);

        push @failed, "reload $k (default $pct%): " . reload_why($r)
            unless $r->{served} && $r->{exited};
    }

    is(scalar @failed, 0, "$RELOADS reloads with a zone of ${ZONE}k (room "
                          . 'for 2 sets, not 3) each took effect and their '
                          . 'old workers exited')
        or diag(join "\n", @failed);

    log_clean($off, undef, "$RELOADS reloads with the same zone size");
}


# ---------------------------------------------------------------------------
# 1b. a reload that fails after the zone took its tables (a "listen" on a
# port that another process holds) leaves a set that no worker uses; the
# next reloads free it, and go through in a zone with room for two sets

{
    my $off = -s $errlog;
    my $busy = $PORT + 1;
    my $holder = IO::Socket::INET->new(LocalAddr => '127.0.0.1',
                                       LocalPort => $busy, Listen => 1,
                                       ReuseAddr => 1)
        or die "cannot listen on 127.0.0.1:$busy: $!\n";

    my @old = workers();

    write_file("$prefix/conf/nginx.conf",
               conf_text(zone => $ZONE, servers => $SERVERS, pct => 70,
                         busy => $busy));
    kill 'HUP', $master or die "kill -HUP $master: $!\n";

    # nginx tries bind() five times, then gives up the reload

    my $deadline = time + 3 * $WAIT;
    my $log = '';

    while (time < $deadline) {
        $log = substr(read_file($errlog), $off);
        last if $log =~ /still could not bind/;
        sleep 0.05;
    }

    like($log, qr/\[emerg\].*still could not bind/,
         "a reload with a listen on the busy port $busy fails");

    answers_unchanged(10 + $RELOADS, { old => \@old },
                      'after the failed reload');

    close $holder;

    my @failed;

    # the last one back to the default of section 1, where section 4 starts

    for my $pct (71, 72, 10 + $RELOADS) {
        my $r = reload(zone => $ZONE, servers => $SERVERS, pct => $pct);

        push @failed, "reload to default $pct%: " . reload_why($r)
            unless $r->{served} && $r->{exited};
    }

    is(scalar @failed, 0, "3 reloads after the failed one took effect in a "
                          . "zone of ${ZONE}k (room for 2 sets)")
        or diag(join "\n", @failed);

    log_clean($off, qr/bind\(\) to 127\.0\.0\.1:$busy failed|still could not bind/,
              'the failed reload and the reloads after it');
}


# ---------------------------------------------------------------------------
# 4. checks keep being answered while the configuration is reloaded

{
    my $off = -s $errlog;
    my $stop = "$root/poller.stop";
    my $out = "$root/poller.out";
    my @pcts = (10 + $RELOADS) .. (13 + $RELOADS);
    my (%replaced, @failed);

    $poller = fork;
    die "fork: $!\n" unless defined $poller;

    if ($poller == 0) {
        alarm 0;
        my $rc = eval { poll_checks($stop, $out, \@pcts); 1 } ? 0 : 1;
        warn $@ if $rc;
        _exit($rc);
    }

    # the poller runs a while with the configuration before the reloads

    sleep 0.3;

    for my $pct (@pcts[1 .. $#pcts]) {
        my $r = reload(zone => $ZONE, servers => $SERVERS, pct => $pct);

        $replaced{$_} = 1 for @{ $r->{old} };
        push @failed, "reload to default $pct%: " . reload_why($r)
            unless $r->{served} && $r->{exited};

        sleep 0.3;
    }

    write_file($stop, '');
    waitpid $poller, 0;
    my $rc = $?;
    undef $poller;

    is(scalar @failed, 0, '3 reloads during the checks each took effect')
        or diag(join "\n", @failed);

    my %n = map { /^(\S+) (.*)$/ ? ($1 => $2) : () }
            split /\n/, read_file($out);

    is($rc, 0, 'the poller ran to its end') or diag(read_file($out));

    note(join ', ', map { "$_ $n{$_}" } sort keys %n);

    ok(($n{answers} // 0) >= 100,
       'checks were answered during the reloads: ' . ($n{answers} // 0));
    is($n{s5xx} // -1, 0, 'no 5xx answer during the reloads')
        or diag("first: $n{first_5xx}");
    is($n{other} // -1, 0, 'no answer but 200 and 204 during the reloads')
        or diag("first: $n{first_other}");
    is($n{malformed} // -1, 0, 'no malformed answer, no answer with a '
                               . 'wrong trace or manifest during the '
                               . 'reloads')
        or diag("first: $n{first_malformed}");
    is(($n{connect} // -1) + ($n{timeout} // -1), 0,
       'no refused connection and no check without an answer for 5 s')
        or diag("connect errors $n{connect}, timeouts $n{timeout}");

    # a keep-alive connection may be closed by a worker of a replaced
    # configuration; by a worker that still serves, it must not be

    my @by = grep { !$replaced{$_} } split ' ', $n{closed_by} // '';

    is(scalar @by, 0, "connections were closed by old workers only ("
                      . ($n{closes} // 0) . ' closes)')
        or diag('closed by workers that were not replaced: '
                . join(', ', @by));

    is($n{percents} // '', join(' ', map { sprintf '%.2f', $_ } @pcts),
       'the checks saw the default of each configuration, and no other');

    log_clean($off, undef, 'reloads during the checks');
}


# ---------------------------------------------------------------------------
# the zone holds two sets, not three: with a worker of the replaced
# configuration still running (stopped), the next reload is refused; once
# it exits, the reload goes through

my $PCT = 13 + $RELOADS;   # the default that is served now

{
    my $off = -s $errlog;
    my @w = workers();
    my $keep = $w[0];

    kill 'STOP', $keep;
    $stopped{$keep} = 1;

    my $r = reload(zone => $ZONE, servers => $SERVERS, pct => $PCT + 1,
                   keep => $keep);

    ok($r->{served} && $r->{exited},
       "a reload while a worker of the old configuration is stopped took "
       . 'effect') or diag(reload_why($r));

    $PCT++ if $r->{served};

    $r = refused_reload(zone => $ZONE, servers => $SERVERS, pct => $PCT + 1,
                        keep => $keep);

    my $re = too_small($ZONE);

    like($r->{log}, qr/\[emerg\].*$re: they take $SET bytes/,
         "the next reload, which needs a third set, is refused: too small");

    # the advice counts the two sets that workers still use: three sets
    # and more, never the zone's size or less

    my ($nheld, $held, $advice) = $r->{log} =~ /$re: they take $SET bytes, and twice as much while a reload replaces them; (\d+) sets of tables that workers still use hold (\d+) bytes; use at least (\d+)k/;

    is($nheld, 2, 'the refusal counts the 2 sets that workers still use')
        or diag($r->{log});

    ok(defined $advice && $advice > $ZONE
       && $advice * 1024 >= 3 * ceil($SET / $PAGE) * $PAGE,
       "the advice, " . ($advice // '?') . "k, is above the zone's ${ZONE}k "
       . 'and holds the two sets in use and the new one');

    answers_unchanged($PCT, $r, 'after the refused reload');

    kill 'CONT', $keep;
    delete $stopped{$keep};

    my $deadline = time + $WAIT;
    sleep 0.02 while alive($keep) && time < $deadline;

    ok(!alive($keep), "the stopped worker $keep exited once continued");

    $r = reload(zone => $ZONE, servers => $SERVERS, pct => $PCT + 1);

    ok($r->{served} && $r->{exited},
       'then the same reload took effect') or diag(reload_why($r));

    $PCT++ if $r->{served};

    log_clean($off, too_small($ZONE),
              'the refused reload');
}


# ---------------------------------------------------------------------------
# 2. a reload that changes the zone size

{
    my $off = -s $errlog;

    my $r = reload(zone => $ZONE2, servers => $SERVERS, pct => 30);

    ok($r->{served} && $r->{exited},
       "a reload that changes the zone size from ${ZONE}k to ${ZONE2}k took "
       . 'effect') or diag(reload_why($r));

    $r = reload(zone => $ZONE2, servers => $SERVERS, pct => 31);

    ok($r->{served} && $r->{exited},
       "a reload that keeps the new zone size ${ZONE2}k took effect")
        or diag(reload_why($r));

    $PCT = 31;

    log_clean($off, undef, 'the reloads with a new zone size');
}


# ---------------------------------------------------------------------------
# 3. a reload whose tables do not fit the zone is refused

{
    my $off = -s $errlog;
    my $servers = 4 * $SERVERS;

    my $r = refused_reload(zone => $ZONE2, servers => $servers, pct => 40);

    my $re = too_small($ZONE2);

    my $tail = 'they take \d+ bytes, and twice as much while a reload '
               . 'replaces them; (?:1 sets of tables that workers still '
               . 'use hold \d+ bytes; )?use at least (\d+)k';

    like($r->{log}, qr/\[emerg\].*$re: $tail$/m,
         "a reload with the tables of $servers servers in a zone of "
         . "${ZONE2}k is refused: too small");

    my ($advice) = $r->{log} =~ /$re: $tail$/m;

    ok(defined $advice && $advice > $ZONE2,
       'its advice, ' . ($advice // '?') . "k, is above the zone's ${ZONE2}k");

    answers_unchanged($PCT, $r, 'after the refused reload');

    log_clean($off, too_small($ZONE2),
              'the reload with too large tables');
}


# ---------------------------------------------------------------------------
# 5. the first configuration again: the sticky keys answer as before

{
    my $off = -s $errlog;

    my $r = reload(%FIRST);

    ok($r->{served} && $r->{exited},
       'a reload back to the first configuration took effect')
        or diag(reload_why($r));

    my $after = keepalive_answers(\@sticky_paths);

    my @diff = grep {
        ($before->[$_]{status} // 0) != ($after->[$_]{status} // 0)
        || ($before->[$_]{body} // '') ne ($after->[$_]{body} // '')
    } 0 .. $#sticky_paths;

    is(scalar @diff, 0, @sticky_paths . ' sticky keys get the same answer '
                        . 'as before all the reloads')
        or diag("first differing: $sticky_paths[$diff[0]]: status "
                . ($before->[$diff[0]]{status} // '?') . ' then '
                . ($after->[$diff[0]]{status} // '?'));

    my $up = grep { ($_->{status} // 0) == 200 } @$after;

    ok($up > 0 && $up < @sticky_paths,
       "the comparison is not trivial: $up of " . @sticky_paths
       . ' upgrade');

    log_clean($off, undef, 'the reload to the first configuration');
}


# ---------------------------------------------------------------------------
# a worker that dies without exiting (kill -9: OOM killer, a crash in
# another module) never counts itself out of its set; the set stays until
# the zone is created anew (a comment in the source says so), so with room
# for 2.5 sets the second reload after the crash is refused

{
    my @w = workers();
    my $victim = $w[0];

    kill 'KILL', $victim;

    my $deadline = time + $WAIT;
    my @now;

    while (time < $deadline) {
        @now = workers();
        last if @now == 2 && !grep { $_ == $victim } @now;
        sleep 0.02;
    }

    is(scalar(grep { $_ != $victim } @now), 2,
       "the master replaced the killed worker $victim");

    my @failed;

    for my $pct (41, 42, 43) {
        my $r = reload(zone => $ZONE, servers => $SERVERS, pct => $pct);

        push @failed, "reload to default $pct%: " . reload_why($r)
            unless $r->{served} && $r->{exited};
    }

    is(scalar @failed, 0, '3 reloads after a worker was killed took effect')
        or diag(join "\n", @failed);
}

# the error log after the crash has the alert of the killed worker and,
# with the bug above, "too small" lines: it is not checked any more

stop_nginx('check');

done_testing();


# ---------------------------------------------------------------------------
# answers

# the reason why an answer is not 200/204 with the given trace and a
# manifest of its target, or undef

sub answer_wrong {
    my ($r, $rule, $pct) = @_;

    return "no answer: $r->{error}" if $r->{error};

    return "status $r->{status}"
        if $r->{status} != 200 && $r->{status} != 204;

    return 'X-Update-Rule ' . ($r->{rule} // 'missing') . ", expected $rule"
        if defined $rule && ($r->{rule} // '') ne $rule;

    return 'X-Update-Percent ' . ($r->{pct} // 'missing') . ', expected '
           . (defined $pct ? sprintf('%.2f', $pct) : 'one')
        if ($r->{pct} // '') !~ /^\d+\.\d\d$/
           || (defined $pct && $r->{pct} ne sprintf('%.2f', $pct));

    if ($r->{status} == 200) {
        my $target = ($r->{rule} // '') =~ /^s\d+:/ ? '1.9.0' : '2.0.0';

        return "a manifest that does not name $target: "
               . substr($r->{body}, 0, 100)
            unless $r->{body}
                   =~ /^\{"version":"\Q$target\E","mandatory":false,/;
    }

    return undef;
}


# every path over one keep-alive connection, again on a new connection
# after a close; the answers in order

sub keepalive_answers {
    my ($paths) = @_;

    my @res;
    my $sock;
    my $closes = 0;

    for (my $i = 0; $i < @$paths; ) {
        $sock //= connect_port() or die "connect to 127.0.0.1:$PORT: $!\n";

        my $r = request($sock, $paths->[$i], 5);

        if (($r->{error} // '') eq 'closed') {
            die "nginx closed the connection $closes times\n"
                if ++$closes > 10;
            undef $sock;
            next;
        }

        push @res, $r;
        $i++;

        undef $sock if $r->{error} || $r->{close};
    }

    return \@res;
}


# the check at the version of the default, on a connection of its own

sub default_pct {
    my $sock = connect_port() or return undef;
    my $r = request($sock, '/update/check?version=1.8.0', 5);

    return undef if answer_wrong($r, 'game:default');
    return $r->{pct};
}


# 200 checks after a refused reload: the same workers answer with the
# default of the running configuration, never an error

sub answers_unchanged {
    my ($pct, $r, $when) = @_;

    my @paths = map { "/update/check?version=1.8.0&client=u$_" } 1 .. 200;
    my $res = keepalive_answers(\@paths);
    my @bad = grep { answer_wrong($_, 'game:default', $pct) } @$res;

    is(scalar @bad, 0, "$when: 200 checks answered with the default "
                       . "$pct% of the running configuration")
        or diag('first: ' . answer_wrong($bad[0], 'game:default', $pct));

    my @w = workers();

    is("@w", "@{ $r->{old} }", "$when: the same workers serve");
}


# ---------------------------------------------------------------------------
# the checks during reloads, in a child process: $POLLERS keep-alive
# connections in turn, until the file $stop exists; the counts go to $out

sub poll_checks {
    my ($stop, $out, $pcts) = @_;

    my %allowed = map { sprintf('%.2f', $_) => 1 } @$pcts;
    my %n = map { $_ => 0 } qw(answers s5xx other malformed connect timeout
                               closes);
    my (%first, %percents, @closed_by);

    my @paths = (
        [ '/update/check?version=1.8.0', 'game:default', undef ],
        [ '/update/check?version=1.8.0&client=p', 'game:default', undef ],
        [ '/update/check?version=1.6.0&server=s17', 's17:default', 20 ],
        [ '/update/check?version=1.7.0&server=s280&client=p', 's280:1.7.*',
          60 ],
        [ '/update/check?version=1.5.9', 'game:1.5.*', 50 ],
    );

    my @conns = map { { sock => undef, pid => undef } } 1 .. $POLLERS;
    my $deadline = time + 40;
    my $k = 0;

    while (!-e $stop && time < $deadline) {
        for my $c (@conns) {
            if (!$c->{sock}) {
                $c->{sock} = connect_port();
                $c->{pid} = undef;

                if (!$c->{sock}) {
                    $first{connect} //= "$!";
                    $n{connect}++;
                    sleep 0.01;
                    next;
                }
            }

            my ($path, $rule, $pct) = @{ $paths[$k++ % @paths] };
            $path .= $k if $path =~ /client=p$/;

            my $r = request($c->{sock}, $path, 5);

            if ($r->{error}) {
                undef $c->{sock};

                if ($r->{error} eq 'closed') {
                    $n{closes}++;
                    push @closed_by, $c->{pid} // 'none';
                    next;
                }

                my $kind = $r->{error} eq 'timeout' ? 'timeout' : 'malformed';
                $first{$kind} //= "$path: $r->{error}";
                $n{$kind}++;
                next;
            }

            $n{answers}++;
            $c->{pid} = $r->{pid};
            undef $c->{sock} if $r->{close};

            if ($r->{status} >= 500) {
                $first{s5xx} //= "$path: $r->{status}";
                $n{s5xx}++;
                next;
            }

            if ($r->{status} != 200 && $r->{status} != 204) {
                $first{other} //= "$path: $r->{status}";
                $n{other}++;
                next;
            }

            my $why = answer_wrong($r, $rule, $pct);

            if (!$why && !defined $pct) {
                $percents{ $r->{pct} } = 1;
                $why = "X-Update-Percent $r->{pct}, not one of the "
                       . 'configured defaults'
                    unless $allowed{ $r->{pct} };
            }

            if ($why) {
                $first{malformed} //= "$path: $why";
                $n{malformed}++;
            }
        }
    }

    my $text = join '', map { "$_ $n{$_}\n" } sort keys %n;
    $text .= "first_$_ $first{$_}\n" for sort keys %first;
    $text .= 'closed_by ' . join(' ', @closed_by) . "\n";
    $text .= 'percents ' . join(' ', sort { $a <=> $b } keys %percents)
             . "\n";

    write_file($out, $text);

    die "the poller ran out of time\n" unless -e $stop;
}


# ---------------------------------------------------------------------------
# HTTP/1.1 over a blocking socket, one request at a time

sub connect_port {
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1',
                                     PeerPort => $PORT, Proto => 'tcp',
                                     Timeout => 5)
        or return undef;

    setsockopt($sock, IPPROTO_TCP, TCP_NODELAY, 1);

    return $sock;
}


# GET $path; { status, pct, rule, pid, body, close } or { error }, where
# the error "closed" is a connection closed (or reset) before any byte of
# the answer, the others a partial or malformed answer or a timeout

sub request {
    my ($sock, $path, $timeout) = @_;

    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n\r\n";
    my $n = syswrite($sock, $req);

    return { error => 'closed', why => "write: $!" }
        unless defined $n && $n == length $req;

    my $sel = IO::Select->new($sock);
    my $deadline = time + $timeout;
    my $buf = '';

    while (1) {
        my $end = index($buf, "\r\n\r\n");

        if ($end >= 0) {
            my $head = substr($buf, 0, $end);

            return { error => 'not an HTTP answer: ' . substr($buf, 0, 100) }
                unless $head =~ m{\AHTTP/1\.[01] (\d{3}) };
            my $status = $1;

            my %h;
            for (split /\r\n/, $head) {
                $h{ lc $1 } = $2 if /^([^:]+):[ \t]*(.*?)[ \t]*$/;
            }

            my $len = 0;

            if ($status != 204 && $status != 304 && $status >= 200) {
                return { error => "an answer without Content-Length: $head" }
                    unless ($h{'content-length'} // '') =~ /^\d+$/;
                $len = $h{'content-length'};
            }

            if (length($buf) >= $end + 4 + $len) {
                return { error => 'bytes after the answer' }
                    if length($buf) > $end + 4 + $len;

                return {
                    status => $status,
                    pct    => $h{'x-update-percent'},
                    rule   => $h{'x-update-rule'},
                    pid    => $h{'x-pid'},
                    body   => substr($buf, $end + 4, $len),
                    close  => lc($h{connection} // '') eq 'close',
                };
            }
        }

        my $left = $deadline - time;
        return { error => 'timeout' } if $left <= 0;
        next unless $sel->can_read($left);

        my $got = sysread($sock, $buf, 65536, length $buf);

        if (!defined $got) {
            next if $! == EINTR || $! == EAGAIN || $! == EWOULDBLOCK;

            return length $buf ? { error => "$! in an answer" }
                               : { error => 'closed', why => "$!" };
        }

        if ($got == 0) {
            return length $buf ? { error => 'the end of the connection in '
                                            . 'an answer' }
                               : { error => 'closed', why => 'EOF' };
        }
    }
}


# ---------------------------------------------------------------------------
# nginx

sub conf_text {
    my (%o) = @_;

    my $dir = $o{dir} || $prefix;
    my $load = join '', map { "load_module $_;\n" } @modules;
    my $busy = $o{busy} ? "        listen 127.0.0.1:$o{busy};" : '';
    my $tracks = '';

    for my $t (1 .. ($o{tracks} || 1)) {
        my $name = $t == 1 ? 'game' : "game$t";

        $tracks .= <<"TRACK";
    staged_update_track $name {
        zone     rel;
        counters off;      # the zone is sized for the tables alone

        latest   2.0.0  $rel/2.0.0;
        minimum  1.0.0;
        default  $o{pct}%;
        rule     1.5.*  50%;

TRACK

        for my $s (1 .. $o{servers}) {
            $tracks .= "        server s$s latest=1.9.0 release=$rel/1.9.0 "
                       . "minimum=1.5.0 default=20%;\n"
                       . "        rule s$s 1.7.* 60%;\n";
        }

        $tracks .= "    }\n\n";
    }

    return <<"CONF";
$load
master_process on;
worker_processes 2;
daemon on;
pid $dir/logs/nginx.pid;
error_log $dir/error.log warn;

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

    staged_update_zone rel $o{zone}k;

$tracks
    server {
        listen 127.0.0.1:$PORT;
$busy

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
}


# nginx -t with a configuration of its own (and an error log of its own):
# the exit status and what it logged

sub nginx_t {
    my (%o) = @_;

    my $dir = "$root/t";
    my $conf = "$dir/nginx.conf";

    make_path("$dir/logs");
    unlink "$dir/error.log", "$dir/out";
    write_file($conf, conf_text(%o, dir => $dir, pct => 10));

    my $rc = system("'$nginx' -t -q -p '$dir/' -c '$conf' -e '$dir/error.log'"
                    . " >'$dir/out' 2>&1");

    return ($rc, read_file("$dir/out") . read_file("$dir/error.log"));
}


sub start_nginx {
    my (%o) = @_;

    die "127.0.0.1:$PORT is already in use, another test or a stale nginx "
        . "(TEST_NGINX_PORT moves the port)\n"
        if connect_port();

    write_file("$prefix/conf/nginx.conf", conf_text(%o));

    my $rc = system($nginx, '-p', "$prefix/", '-c', "$prefix/conf/nginx.conf",
                    '-e', $errlog);

    die "nginx did not start (exit status " . ($rc >> 8) . "):\n"
        . read_file($errlog) if $rc != 0;

    my $deadline = time + $WAIT;

    while (time < $deadline) {
        ($master) = read_file($pidfile) =~ /(\d+)/;

        last if $master && workers() == 2 && connect_port();

        sleep 0.05;
    }

    die "nginx does not accept on 127.0.0.1:$PORT:\n" . read_file($errlog)
        unless $master && connect_port();

    note("nginx: master $master, workers " . join(', ', workers())
         . ", 127.0.0.1:$PORT");
}


# a reload with SIGHUP, and a wait until the check at the version of the
# default shows the new percentage and no worker but the new two runs:
# { served, exited, seconds, old => [ old workers ], why }.  The worker
# $o{keep} (stopped) is not waited for; an [emerg] in the error log ends
# the wait.

sub reload {
    my (%o) = @_;

    my @old = workers();
    my $pct = sprintf '%.2f', $o{pct};
    my $off = -s $errlog;

    write_file("$prefix/conf/nginx.conf", conf_text(%o));

    my $start = time;
    kill 'HUP', $master or die "kill -HUP $master: $!\n";

    my ($served, $exited, $last, $refused, @now) = (0, 0, '');

    while (time - $start < $WAIT) {

        # refused: no need to wait

        if (substr(read_file($errlog), $off) =~ /^(.*\[emerg\].*)$/m) {
            $refused = $1;
            last;
        }

        if (!$served) {
            $last = default_pct() // 'no answer';
            $served = 1 if $last eq $pct;
        }

        if ($served) {
            @now = grep { !defined $o{keep} || $_ != $o{keep} } workers();
            my %was = map { $_ => 1 } @old;

            if (@now == 2 && !grep { $was{$_} } @now) {
                $exited = !grep { alive($_) }
                          grep { !defined $o{keep} || $_ != $o{keep} } @old;
                last if $exited;
            }
        }

        sleep 0.02;
    }

    return {
        served  => $served,
        exited  => $exited,
        seconds => time - $start,
        old     => \@old,
        why     => $refused ? "refused: $refused"
                 : !$served ? "the default is $last, not $pct"
                 : "workers @old before, @now after",
    };
}


sub reload_why {
    my ($r) = @_;

    return sprintf('%s after %.1f s', $r->{why}, $r->{seconds});
}


# a reload that the master must refuse: waits until the error log says
# why (or $WAIT s): { log => what it logged, old => [ workers ] }

sub refused_reload {
    my (%o) = @_;

    my @old = workers();
    my $off = -s $errlog;

    write_file("$prefix/conf/nginx.conf", conf_text(%o));
    kill 'HUP', $master or die "kill -HUP $master: $!\n";

    my $start = time;
    my $log = '';

    while (time - $start < $WAIT) {
        $log = substr(read_file($errlog), $off);
        last if $log =~ /\[emerg\]/;
        sleep 0.02;
    }

    # a moment more: the workers of a reload that went through would be
    # started now

    sleep 0.2;

    return { log => $log, old => \@old };
}


# the start of the message of a zone too small for its tables

sub too_small {
    my ($k) = @_;

    my $msg = "staged_update_zone \"rel\" of ${k}k is too small for the "
              . 'tables of its tracks';

    return qr/\Q$msg\E/;
}


# a test that the error log since $off has no alert, crit or emerg but
# those that match $allowed

sub log_clean {
    my ($off, $allowed, $what) = @_;

    my @bad = grep { /\[(?:alert|crit|emerg)\]/
                     && !(defined $allowed && /$allowed/) }
              split /\n/, substr(read_file($errlog), $off);

    is(scalar @bad, 0, "$what: no other alert, crit or emerg in the error "
                       . 'log')
        or diag(join "\n", @bad);
}


# the workers: the children of the master, but zombies

sub workers {
    my @pids;

    return () unless $master;

    for my $stat (glob '/proc/[0-9]*/stat') {
        open my $fh, '<', $stat or next;
        my $line = <$fh> // next;

        next unless $line =~ /^(\d+) \(.*\) (\S) (\d+) /s;
        next if $2 eq 'Z' || $3 != $master;

        push @pids, $1;
    }

    @pids = sort { $a <=> $b } @pids;
    $seen{$_} = 1 for @pids;

    return @pids;
}


# stops nginx; with $check, tests that no process of it is left

sub stop_nginx {
    my ($check) = @_;

    my $pid = $master or return;
    workers();
    undef $master;

    kill 'TERM', $pid;

    my $deadline = time + $WAIT;
    sleep 0.05 while alive($pid) && time < $deadline;

    if (alive($pid)) {
        warn "nginx master $pid did not stop, killing it\n";
        kill 'KILL', $pid;
    }

    sleep 0.05 while grep({ alive($_) } keys %seen) && time < $deadline;

    my @left = grep { alive($_) } keys %seen;

    if (@left) {
        warn "nginx workers @left did not stop, killing them\n";
        kill 'KILL', @left;
    }

    if ($check) {
        ok(!alive($pid) && !@left, 'nginx stopped, no worker of it is left')
            or diag("left: master $pid, workers @left");
    }
}


# gone, or a zombie that no init reaps

sub alive {
    my ($pid) = @_;

    return 0 unless kill 0, $pid;

    if (open my $fh, '<', "/proc/$pid/stat") {
        my $stat = <$fh> // '';
        return 0 if $stat =~ /^\d+ \(.*\) Z/s;
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
