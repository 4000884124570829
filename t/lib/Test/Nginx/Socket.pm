# Copyright (C) The ngx_http_staged_update_module authors

package Test::Nginx::Socket;

# Fallback for the CPAN module Test::Nginx::Socket (not packaged in Debian).
#
# Runs test files in Test::Nginx's data-driven format (Test::Base "=== TEST"
# blocks with "--- section" values) against a real nginx binary, with the
# same semantics and the same number of tests per block as the CPAN module.
# Use it with `prove -I t/lib -r t`; without `-I t/lib` (CPAN module on
# PERL5LIB) the real harness is used.  Written from the CPAN module's
# documentation and observed behaviour, no code taken from it.  Per block:
#   1. write t/servroot/conf/nginx.conf and (re)start nginx, or reload it with
#      SIGHUP (TEST_NGINX_USE_HUP); a block without "--- config" keeps the
#      running nginx untouched;
#   2. send the request(s), repeat_each() times, one connection per request;
#   3. after each response check status, headers, body, and the part of
#      error.log written since the previous check.
# nginx runs in the foreground ("daemon off") as our child process, so it
# can be waited for, reaped and killed reliably.

use strict;
use warnings;

use Test::Base -base;    # block parsing, filters, blocks(), plan(), is() ...

use Cwd ();
use Errno ();
use File::Basename ();
use File::Path ();
use File::Spec ();
use IO::Select;
use IO::Socket::INET;
use List::Util ();
use POSIX ();
use Time::HiRes ();

our $VERSION = '0.01';

our @EXPORT = qw(
    run_tests repeat_each no_shuffle use_hup master_on master_off workers
    worker_connections log_level no_long_string no_root_location env_to_nginx
    add_block_preprocessor add_cleanup_handler add_response_body_check
    check_accum_error_log bail_out is_str server_port server_root html_dir
);

# ---- settings (exported setters below, TEST_NGINX_* environment) ---------

my $RepeatEach    = 1;
my $Shuffle       = !$ENV{TEST_NGINX_NO_SHUFFLE};
my $UseHup        = $ENV{TEST_NGINX_USE_HUP} ? 1 : 0;
my $MasterOn      = ($ENV{TEST_NGINX_MASTER_PROCESS} // 'off') eq 'on';
my $Workers       = 1;
my $WorkerConns   = 64;
my $LogLevel      = $ENV{TEST_NGINX_LOG_LEVEL} || 'debug';
my $RootLocation  = 1;
my $AccumErrorLog = 0;
my $Valgrind      = $ENV{TEST_NGINX_USE_VALGRIND};
my @EnvToNginx    = qw(
    MOCKEAGAIN_VERBOSE MOCKEAGAIN MOCKEAGAIN_WRITE_TIMEOUT_PATTERN LD_PRELOAD
    LD_LIBRARY_PATH DYLD_INSERT_LIBRARIES DYLD_FORCE_FLAT_NAMESPACE
    ASAN_OPTIONS MOCKNOEAGAIN_VERBOSE MOCKNOEAGAIN
);
my (@BlockPreprocessors, @CleanupHandlers, @BodyChecks);

my $ServRoot = File::Spec->rel2abs($ENV{TEST_NGINX_SERVROOT}
                                   || Cwd::cwd() . '/t/servroot');
my $ServerPort = $ENV{TEST_NGINX_SERVER_PORT} || $ENV{TEST_NGINX_PORT} || 1984;
my $ClientPort = $ENV{TEST_NGINX_CLIENT_PORT} || $ENV{TEST_NGINX_PORT}
                 || $ServerPort;

# expanded in the config sections like any other $TEST_NGINX_* variable
$ENV{TEST_NGINX_SERVER_PORT} = $ServerPort;
$ENV{TEST_NGINX_CLIENT_PORT} = $ClientPort;
$ENV{TEST_NGINX_SERVROOT}    = $ServRoot;
$ENV{TEST_NGINX_HTML_DIR}    = "$ServRoot/html";

# The nginx we run: pid, the block that started it, and how far error.log,
# access.log and stderr.log (valgrind) have been consumed by checks.
my %Srv = (pid => undef, owner => '', error_off => 0, access_off => 0,
           stderr_off => 0);
my $HadConfig = 0;       # some earlier block had a "--- config" section
my $MainPid   = $$;      # forked children must not clean up
my $Cleaned   = 0;
my %Nginx;               # binary, version, configure arguments
my $PacketMark = "\x01TN-PACKET\x02";  # packet boundary while building requests

sub repeat_each        { $RepeatEach = shift if @_; $RepeatEach }
sub no_shuffle         { $Shuffle = 0 }
sub use_hup            { $UseHup = 1 }
sub master_on          { $MasterOn = 1 }
sub master_off         { $MasterOn = 0 }
sub workers            { $Workers = shift if @_; $Workers }
sub worker_connections { $WorkerConns = shift if @_; $WorkerConns }
sub log_level          { $LogLevel = shift if @_; $LogLevel }
sub no_long_string     { }    # Test::LongString is never used here
sub no_root_location   { $RootLocation = 0 }
sub check_accum_error_log   { $AccumErrorLog = 1 }
sub env_to_nginx            { push @EnvToNginx, @_ }
sub add_block_preprocessor  { push @BlockPreprocessors, @_ }
sub add_cleanup_handler     { push @CleanupHandlers, @_ }
sub add_response_body_check { push @BodyChecks, @_ }
sub server_port        { $ServerPort }
sub server_root        { $ServRoot }
sub html_dir           { "$ServRoot/html" }

# Abort the whole test session, stopping nginx first.
sub bail_out { cleanup(); Test::More::BAIL_OUT(shift) }

# ---- running the blocks ----------------------------------------------------

sub run_tests {
    for my $sig (qw(INT TERM)) {
        $SIG{$sig} = sub { cleanup(); $SIG{$sig} = 'DEFAULT'; kill $sig, $$ };
    }
    local $SIG{PIPE} = 'IGNORE';
    nginx_info();
    my @blocks = blocks();
    @blocks = List::Util::shuffle(@blocks) if $Shuffle;
    for my $block (@blocks) {
        $_->($block) for @BlockPreprocessors;
        run_block($block);
    }
    cleanup();
}

sub run_block {
    my $block = shift;
    my $tb = Test::More->builder;
    if (my ($count, $why) = skip_reason($block)) {
        $tb->skip($block->name . " - $why") for 1 .. $count * $RepeatEach;
        return;
    }
    my ($todo) = ($block->todo // '') =~ /^\s*\d+\s*:\s*(.*?)\s*$/s;
    $tb->todo_start($todo) if defined $todo;
    if (defined $block->must_die) {
        run_must_die_block($block);
    } else {
        run_normal_block($block);
    }
    $tb->todo_end if defined $todo;
}

# "--- must_die [exit code]": nginx must refuse to start; the startup
# messages in error.log can be checked with error_log / no_error_log.
sub run_must_die_block {
    my $block = shift;
    my $name = $block->name;
    (my $want = $block->must_die) =~ s/^\s+|\s+$//g;
    $HadConfig = 1;
    for my $r (0 .. $RepeatEach - 1) {
        stop_server();
        prepare_servroot($block, gen_config($block));
        my ($started, $status) = start_server($block, 1);
        if ($started) {
            stop_server();    # it started although it must not
            fail("$name - die as expected");
        } elsif (length $want) {
            is($status, $want, "$name - die with the expected exit code");
        } else {
            pass("$name - die as expected");
        }
        check_logs($block, $r, 0, 0);
    }
}

sub run_normal_block {
    my $block = shift;
    my $name = $block->name;
    if (defined $block->config) {
        $HadConfig = 1;
        return unless setup_server($block);
    } elsif (!$HadConfig) {
        bail_out("$name - No '--- config' section specified and could not"
                 . " get previous one.");
    } else {
        write_user_files($block);    # nginx and its config stay as they are
    }
    if (defined(my $code = $block->init)) {
        eval "package main; $code; 1"
            or do { fail("$name - init code runs"); diag($@) };
    }

    my @units = build_units($block);
    my $timeout = parse_time(scalar $block->timeout)
                  // parse_time($ENV{TEST_NGINX_TIMEOUT}) // 3;
    my %block_start = (error => $Srv{error_off}, access => $Srv{access_off});
    for my $r (0 .. $RepeatEach - 1) {
        my $k = 0;    # index of the request within the block
        for my $unit (@units) {
            my ($resps, $timed_out) = http_exchange($block, $unit, $timeout);
            fail("ERROR: client socket timed out - $name")
                if $timed_out && !defined $block->abort;
            my $wait = parse_time(scalar $block->wait);
            Time::HiRes::sleep($wait) if $wait;
            for my $i (0 .. $unit->{count} - 1) {
                check_response($block, $resps->[$i] || {}, $k++, $r, $timed_out);
                check_logs($block, $r, $AccumErrorLog ? $block_start{error} : undef,
                           $block_start{access});
            }
        }
    }
}

# (count, reason) when skip_eval / skip_nginx / skip_nginx2 say "skip":
# "N: perl code" resp. "N: < 1.2.3 [and|or >= 1.0.0]"
sub skip_reason {
    my $block = shift;
    my $name = $block->name;
    if (defined(my $spec = $block->skip_eval)) {
        my ($n, $code) = $spec =~ /^\s*(\d+)\s*:\s*(.*?)\s*$/s
            or bail_out("$name - bad skip_eval: $spec");
        my $res = eval "package main; $code";
        bail_out("$name - skip_eval failed: $@") if $@;
        return ($n, 'tests skipped due to skip_eval') if $res;
    }
    for my $sec (qw(skip_nginx skip_nginx2)) {
        my $spec = $block->$sec // next;
        my ($n, $c1, $op, $c2) = $spec
            =~ /^\s*(\d+)\s*:\s*(.*?)(?:\s+(and|or)\s+(.*?))?\s*$/s
            or bail_out("$name - bad $sec: $spec");
        my $res = version_cond($c1);
        $res = $op eq 'and' ? $res && version_cond($c2)
                            : $res || version_cond($c2) if $op;
        return ($n, "tests skipped due to nginx $Nginx{version} $c1"
                    . ($op ? " $op $c2" : '')) if $res;
    }
    return;
}

# Is the nginx version e.g. "< 1.2.3"?
sub version_cond {
    my ($op, $ver) = shift =~ /^\s*(<=|>=|<|>|==|!=)?\s*(\d[\d.]*)\s*$/
        or bail_out('bad nginx version condition');
    my @a = split /\./, $Nginx{version};
    my @b = split /\./, $ver;
    my $cmp = 0;
    $cmp ||= ($a[$_] // 0) <=> ($b[$_] // 0) for 0 .. List::Util::max($#a, $#b);
    my %res = ('<' => $cmp < 0, '<=' => $cmp <= 0, '>' => $cmp > 0,
               '>=' => $cmp >= 0, '==' => $cmp == 0, '!=' => $cmp != 0);
    return $res{$op // '=='};
}

# ---- nginx.conf and the server root ------------------------------------

# Replace $TEST_NGINX_FOO by the environment value.  Like the CPAN module,
# this is done in the config sections, user files and response_body only.
sub expand_env {
    my ($text, $name) = @_;
    return $text if !defined $text || ref $text;
    $text =~ s{\$(TEST_NGINX_[_A-Z0-9]+)}{
        $ENV{$1} // bail_out("$name - No environment $1 defined.")
    }ge;
    return $text;
}

sub gen_config {
    my $block = shift;
    my $name = $block->name;
    my $master = $UseHup || $MasterOn;
    my ($level, $server_name) = map { s/^\s+|\s+$//gr }
        $block->log_level // $LogLevel, $block->server_name // 'localhost';
    my %sec;
    $sec{$_} = expand_env(scalar $block->$_, $name) // ''
        for qw(main_config http_config config post_main_config);

    my $c = join '', map { "load_module $_;\n" }
        split ' ', $ENV{TEST_NGINX_LOAD_MODULES} // '';
    $c .= "worker_processes $Workers;\ndaemon off;\n"
        . 'master_process ' . ($master ? 'on' : 'off') . ";\n"
        . "error_log logs/error.log $level;\npid logs/nginx.pid;\n";
    my $user = $ENV{TEST_NGINX_WORKER_USER} // ($> == 0 ? 'root' : undef);
    $c .= "user $user;\n" if $master && defined $user;
    $c .= 'env ' . (/[\s;'"]/ ? "'$_'" : $_) . ";\n" for @EnvToNginx;
    $c .= "\nevents {\n    accept_mutex off;\n"
        . "    worker_connections $WorkerConns;\n"
        . ($ENV{TEST_NGINX_EVENT_TYPE} ? "    use $ENV{TEST_NGINX_EVENT_TYPE};\n" : '')
        . "}\n\n$sec{main_config}\n";

    $c .= "http {\n    access_log logs/access.log;\n";
    for my $tmp (qw(client_body proxy fastcgi uwsgi scgi)) {
        $c .= "    ${tmp}_temp_path ${tmp}_temp;\n"
            unless $Nginx{configure} =~ /--without-http_${tmp}_module/;
    }
    $c .= "    default_type text/plain;\n    keepalive_timeout 68;\n";
    $c .= "    postpone_output $ENV{TEST_NGINX_POSTPONE_OUTPUT};\n"
        if $ENV{TEST_NGINX_POSTPONE_OUTPUT};
    $c .= "$sec{http_config}\n    server {\n"
        . "        listen 127.0.0.1:$ServerPort"
        . ($ENV{TEST_NGINX_REUSE_PORT} ? ' reuseport' : '') . ";\n"
        . "        server_name $server_name;\n"
        . "        client_max_body_size 30M;\n\n"
        . "        # test block config\n$sec{config}\n";
    $c .= "        location / {\n            root html;\n"
        . "            index index.html index.htm;\n        }\n" if $RootLocation;
    return "$c    }\n}\n\n$sec{post_main_config}\n";
}

# A fresh servroot: conf/nginx.conf, logs/, html/ with the user files.
sub prepare_servroot {
    my ($block, $conf) = @_;
    kill_stale_nginx();
    File::Path::remove_tree($ServRoot);
    File::Path::make_path(map { "$ServRoot/$_" } qw(conf logs html));
    write_file("$ServRoot/conf/nginx.conf", $conf);
    write_file("$ServRoot/html/index.html", "<html><head><title>It works!"
               . "</title></head><body>It works!</body></html>");
    write_user_files($block);
    $Srv{$_} = 0 for qw(error_off access_off stderr_off);
}

# "--- user_files": ">>> name [mtime]" lines, each followed by its content;
# or, with eval, [[name, content, mtime], ...].  Written under html/.
sub write_user_files {
    my $block = shift;
    my $spec = $block->user_files // return;
    my @files;
    if (ref $spec eq 'ARRAY') {
        @files = map { [@$_] } @$spec;
    } else {
        for my $line (split /^/, $spec) {
            if ($line =~ /^>>> (\S+)(?:\s+(\S+))?\s*$/) {
                push @files, [$1, '', $2];
            } elsif (@files) {
                $files[-1][1] .= $line;
            }
        }
    }
    for (@files) {
        my ($file, $body, $mtime) = @$_;
        my $path = "$ServRoot/html/$file";
        File::Path::make_path(File::Basename::dirname($path));
        write_file($path, expand_env($body // '', $block->name));
        next unless defined $mtime;
        # touch(1) style CCYYMMDDhhmm[.ss], or seconds since the Epoch
        if ($mtime =~ /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(?:\.(\d\d))?$/) {
            $mtime = POSIX::mktime($6 // 0, $5, $4, $3, $2 - 1, $1 - 1900);
        }
        utime $mtime, $mtime, $path;
    }
}

# ---- the nginx process -----------------------------------------------------

# The binary (TEST_NGINX_BINARY, else "nginx" in PATH) and its version.
sub nginx_info {
    my $bin = $ENV{TEST_NGINX_BINARY} || 'nginx';
    ($bin) = grep { -x } map { "$_/$bin" }
             split(/:/, $ENV{PATH} // ''), qw(/usr/sbin /usr/local/sbin)
        if $bin !~ m{/};
    bail_out('nginx binary not found; set TEST_NGINX_BINARY') unless $bin;
    my $out = `\Q$bin\E -V 2>&1`;
    bail_out("cannot run $bin -V: $out") if $?;
    my ($ver) = $out =~ m{version: \S+?/(\d+(?:\.\d+)*)};
    my ($configure) = $out =~ /configure arguments:(.*)/;
    %Nginx = (binary => $bin, version => $ver // 0, configure => $configure // '');
}

# The nginx command line, run by valgrind if $valgrind.
sub nginx_cmd {
    my $valgrind = shift;
    my @cmd = ($Nginx{binary}, '-p', "$ServRoot/",
               '-c', "$ServRoot/conf/nginx.conf");
    # -e (nginx >= 1.19.5): startup errors go to error.log as well
    push @cmd, '-e', "$ServRoot/logs/error.log" if version_cond('>= 1.19.5');
    return @cmd unless $valgrind;
    my @vg = $Valgrind =~ /^\d+$/ ? qw(--tool=memcheck --leak-check=full)
                                  : split ' ', $Valgrind;
    push @vg, '--suppressions=valgrind.suppress' if -f 'valgrind.suppress';
    push @vg, '--exit-on-first-error=yes', '--error-exitcode=1'
        if $ENV{TEST_NGINX_VALGRIND_EXIT_ON_FIRST_ERR};
    return (qw(valgrind -q --gen-suppressions=all), @vg, @cmd);
}

# Start nginx as our child.  Returns (1) once it is up: the pid file is
# written (so the listening sockets are open) and, with a master process,
# the workers are forked.  Returns (0, exit status) if it does not start.
sub start_server {
    my ($block, $must_die) = @_;
    my @cmd = nginx_cmd($Valgrind && !$must_die);
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>>', "$ServRoot/logs/stderr.log";
        open STDERR, '>&', \*STDOUT;
        $ENV{LD_PRELOAD} = $ENV{TEST_NGINX_LD_PRELOAD}
            if $ENV{TEST_NGINX_LD_PRELOAD};
        { exec { $cmd[0] } @cmd }
        print STDERR "cannot exec $cmd[0]: $!\n";
        POSIX::_exit(127);
    }
    my $deadline = Time::HiRes::time() + ($Valgrind ? 60 : 15);
    while (Time::HiRes::time() < $deadline) {
        return (0, $? >> 8) if waitpid($pid, POSIX::WNOHANG()) == $pid;
        if (read_pid() == $pid && (!($UseHup || $MasterOn) || children_of($pid))) {
            @Srv{qw(pid owner)} = ($pid, $block->name);
            return 1;
        }
        Time::HiRes::sleep(0.01);
    }
    kill 'KILL', $pid, children_of($pid);
    waitpid $pid, 0;
    return (0, 'startup timed out');
}

# Graceful QUIT (TERM with TEST_NGINX_FAST_SHUTDOWN), then TERM, then KILL.
sub stop_server {
    my $pid = delete $Srv{pid} or return;
    my $first = $ENV{TEST_NGINX_FAST_SHUTDOWN} ? 'TERM' : 'QUIT';
    STEP: for ([$first, $Valgrind ? 60 : 10], ['TERM', 3], ['KILL', 5]) {
        my ($sig, $wait) = @$_;
        kill $sig, $pid, ($sig eq 'KILL' ? children_of($pid) : ());
        my $deadline = Time::HiRes::time() + $wait;
        while (Time::HiRes::time() < $deadline) {
            last STEP if waitpid($pid, POSIX::WNOHANG()) != 0;
            Time::HiRes::sleep(0.01);
        }
        diag("nginx (pid $pid) did not exit on SIG$sig");
    }
    check_valgrind() if $Valgrind;
}

# TEST_NGINX_USE_HUP: make the running master load the new nginx.conf and
# wait until its workers have all been replaced.  False if it refused.
sub reload_server {
    my $block = shift;
    my $pid = $Srv{pid};
    my %old = map { $_ => 1 } children_of($pid);
    my $log_off = -s "$ServRoot/logs/error.log" // 0;
    kill 'HUP', $pid;
    my $deadline = Time::HiRes::time() + ($Valgrind ? 60 : 10);
    while (Time::HiRes::time() < $deadline) {
        if (waitpid($pid, POSIX::WNOHANG()) == $pid) {
            delete $Srv{pid};
            return 0;
        }
        return 0 if read_from("$ServRoot/logs/error.log", $log_off) =~ /\[emerg\]/;
        my @kids = children_of($pid);
        last if @kids && !grep { $old{$_} } @kids;
        Time::HiRes::sleep(0.01);
    }
    $Srv{owner} = $block->name;
    return 1;    # (an old worker may linger past the deadline: go on)
}

# Make sure the nginx for this block runs; a failure (not a hang) if not.
sub setup_server {
    my $block = shift;
    my $name = $block->name;
    my $conf = gen_config($block);
    if ($UseHup && $Srv{pid}) {
        write_file("$ServRoot/conf/nginx.conf", $conf);
        write_user_files($block);
        return 1 if reload_server($block) || defined $block->reload_fails;
        fail("$name - nginx reloaded the new configuration");
    } else {
        stop_server();
        prepare_servroot($block, $conf);
        my ($ok, $status) = start_server($block, 0);
        return 1 if $ok;
        fail("$name - nginx started (exit status: $status)");
    }
    my @lines = split /\n/, read_from("$ServRoot/logs/error.log", 0);
    diag(join "\n", "--- tail of $ServRoot/logs/error.log:",
         @lines[List::Util::max(0, $#lines - 19) .. $#lines]);
    my $err = read_from("$ServRoot/logs/stderr.log", 0);
    diag("--- nginx stderr:\n$err") if $err =~ /\S/;
    return 0;
}

# Valgrind's findings ("==PID== ..." lines) are a test failure; the diag
# shows all the new output, including the --gen-suppressions templates.
sub check_valgrind {
    my $out = read_from("$ServRoot/logs/stderr.log", $Srv{stderr_off});
    $Srv{stderr_off} += length $out;
    return unless $out =~ /^==\d+==/m;
    fail("$Srv{owner} - valgrind reported no memory errors");
    my @lines = split /\n/, $out;
    diag(join "\n", @lines[0 .. List::Util::min($#lines, 199)]);
}

sub read_pid {
    open my $fh, '<', "$ServRoot/logs/nginx.pid" or return 0;
    return ((<$fh> // '') =~ /^(\d+)/)[0] // 0;
}

# Live child processes of $ppid (nginx workers, cache manager ...).
sub children_of {
    my $ppid = shift;
    opendir my $dh, '/proc' or return;
    my @kids;
    for my $p (grep { /^\d+$/ } readdir $dh) {
        open my $fh, '<', "/proc/$p/stat" or next;
        my $stat = <$fh> // next;
        my ($state, $parent) = split ' ', substr($stat, rindex($stat, ')') + 1);
        push @kids, $p if $parent == $ppid && $state ne 'Z';
    }
    return @kids;
}

# An nginx left behind by an interrupted earlier run would hold our port.
my $StaleChecked = 0;
sub kill_stale_nginx {
    return if $StaleChecked++;
    my $pid = read_pid() or return;
    open my $fh, '<', "/proc/$pid/comm" or return;
    return unless (<$fh> // '') =~ /nginx|valgrind|memcheck/;
    kill 'KILL', $pid, children_of($pid);
    Time::HiRes::sleep(0.2);
}

sub cleanup {
    return if $$ != $MainPid || $Cleaned++;
    $_->() for @CleanupHandlers;
    stop_server() unless $ENV{TEST_NGINX_NO_CLEAN};
}

END { local $?; cleanup() }

# ---- building requests -----------------------------------------------------

# A "unit" is what is sent over one connection:
#   { packets => [[data, delay_before], ...], count => number of responses,
#     heads => [is a HEAD request, ...], keepalive => stop reading early }
sub build_units {
    my $block = shift;
    my $more = $block->more_headers;

    if (defined(my $raw = $block->raw_request)) {    # sent verbatim
        my @packets = map { ref $_ eq 'HASH' ? [$_->{value}, $_->{delay_before}]
                                             : [$_, undef] }
                      ref $raw eq 'ARRAY' ? @$raw : ($raw);
        my $data = join '', map { $_->[0] } @packets;
        return { packets => \@packets, count => 1,
                 heads => [$data =~ /^\s*HEAD\s/ ? 1 : 0],
                 keepalive => $data !~ /^Connection:\s*close/mi
                              && $data !~ m{^\S+\s+\S+\s+HTTP/1\.0} };
    }
    if (defined(my $reqs = $block->pipelined_requests)) {    # one connection
        my @reqs = ref $reqs eq 'ARRAY' ? @$reqs : ($reqs);
        my @units = map { make_request($reqs[$_], pick($more, $_),
                                       $_ == $#reqs ? 'close' : 'keep-alive')
                        } 0 .. $#reqs;
        my $data = join '', map { $_->[0] } map { @{$_->{packets}} } @units;
        return { packets => [[$data, undef]], count => scalar @reqs,
                 heads => [map { @{$_->{heads}} } @units], keepalive => 0 };
    }
    my $req = $block->request;
    bail_out($block->name . ' - Request line should be non-empty')
        unless defined $req && (ref $req || $req =~ /\S/);
    my @reqs = ref $req eq 'ARRAY' ? @$req : ($req);    # one connection each
    return map { make_request($reqs[$_], pick($more, $_), 'close') } 0 .. $#reqs;
}

# "METHOD [URI [PROTOCOL]]\n[body]" to an HTTP request with Host,
# Connection, the more_headers and a Content-Length for the (trimmed) body.
# $spec may be an array ref of packets: strings or {value, delay_before}.
sub make_request {
    my ($spec, $more, $conn) = @_;
    my @parts = ref $spec eq 'ARRAY' ? @$spec : ($spec);
    my @delays = map { ref $_ eq 'HASH' ? $_->{delay_before} : undef } @parts;
    my $text = join $PacketMark, map { ref $_ eq 'HASH' ? $_->{value} : $_ } @parts;
    $text =~ s/\A(?:\s*#[^\n]*\n)+//;    # leading comment lines
    $text =~ s/\A\s+//;
    my ($line, $rest) = split /\n/, $text, 2;
    my ($method, $uri, $proto) = split ' ', $line // '';
    ($method, $uri, $proto) = ($method // 'GET', $uri // '/', $proto // 'HTTP/1.1');

    my @headers = map { /^\s*([^\s:#][^:]*?)\s*:\s*(.*?)\s*$/ ? [$1, $2] : () }
                  split /\n/, $more // '';
    my %has = map { lc $_->[0] => $_->[1] } @headers;
    my @lines = ("$method $uri $proto");
    push @lines, 'Host: localhost' unless exists $has{host};
    push @lines, "Connection: $conn" unless exists $has{connection};
    push @lines, map { "$_->[0]: $_->[1]" } @headers;
    my $body = '';
    if (defined $rest && length $rest) {
        if (exists $has{'transfer-encoding'}) {
            $body = $rest;    # a (chunked) body given verbatim by the test
        } else {
            ($body = $rest) =~ s/\A\s+|\s+\z//g;
            push @lines, 'Content-Length: '
                         . length($body =~ s/\Q$PacketMark\E//gr)
                unless exists $has{'content-length'};
        }
    }
    my @chunks = split /\Q$PacketMark\E/, join("\r\n", @lines, '', '') . $body, -1;
    return { packets => [map { [$chunks[$_], $delays[$_]] } 0 .. $#chunks],
             count => 1, heads => [$method eq 'HEAD' ? 1 : 0],
             keepalive => lc($has{connection} // $conn) ne 'close'
                          && $proto ne 'HTTP/1.0' };
}

# Element $i of an array ref (per-request expectations), else the value.
sub pick { ref $_[0] eq 'ARRAY' ? $_[0][$_[1]] : $_[0] }

# "1.5", "2s", "50ms" to seconds
sub parse_time {
    my $t = shift;
    return undef unless defined $t && $t =~ /^\s*(\d*\.?\d+)\s*(ms|s)?\s*$/;
    return ($2 // '') eq 'ms' ? $1 / 1000 : $1;
}

# ---- HTTP client -----------------------------------------------------------

# Send one unit over a new connection and read the response(s); every wait
# on the socket is bounded by $timeout.  Returns ([responses], $timed_out).
sub http_exchange {
    my ($block, $unit, $timeout) = @_;
    my $sock = IO::Socket::INET->new(PeerAddr => '127.0.0.1', Proto => 'tcp',
                                     PeerPort => $ClientPort, Timeout => $timeout);
    unless ($sock) {
        fail($block->name . " - Can't connect to 127.0.0.1:$ClientPort: $!");
        return ([], 0);
    }
    $sock->blocking(0);
    my $sel = IO::Select->new($sock);
    my $middle = parse_time(scalar $block->raw_request_middle_delay)
                 // $ENV{TEST_NGINX_SLEEP} // 0.015;
    my ($buf, $timed_out, $n) = ('', 0, 0);

    PACKET: for (@{$unit->{packets}}) {
        my ($data, $delay) = @$_;
        $delay //= $n++ ? $middle : 0;
        Time::HiRes::sleep($delay) if $delay;
        while (length $data) {
            $sel->can_write($timeout) or do { $timed_out = 1; last PACKET };
            my $w = syswrite $sock, $data;
            next if !defined $w && ($!{EAGAIN} || $!{EINTR});
            last PACKET unless defined $w;    # closed early: read its answer
            substr($data, 0, $w, '');
        }
    }
    shutdown $sock, $block->shutdown =~ /(\d)/ ? $1 : 1
        if defined $block->shutdown;

    until ($timed_out) {
        $sel->can_read($timeout) or do { $timed_out = 1; last };
        my $r = sysread $sock, $buf, 65536, length $buf;
        next if !defined $r && ($!{EAGAIN} || $!{EINTR});
        last unless $r;
        # keep-alive: done as soon as the framing says we have everything
        if ($unit->{keepalive}) {
            my $resps = parse_responses($buf, $unit->{heads});
            last if @$resps >= $unit->{count} && !grep { !$_->{complete} } @$resps;
        }
    }
    close $sock;
    return (parse_responses($buf, $unit->{heads}), $timed_out);
}

# Split the received bytes into responses: { status, raw_headers,
# headers => {lc name => [values]}, body (de-chunked), complete, bad_chunk }
sub parse_responses {
    my ($buf, $heads) = @_;
    my ($pos, @res) = (0);
    while ($pos < length $buf) {
        my $end = index $buf, "\r\n\r\n", $pos;
        if (substr($buf, $pos, 5) ne 'HTTP/' || $end < 0) {
            # HTTP/0.9 style or truncated: all that is left is the body
            push @res, { raw_headers => '', headers => {}, complete => 0,
                         body => substr($buf, $pos) };
            last;
        }
        my $raw = substr $buf, $pos, $end + 4 - $pos;
        $pos = $end + 4;
        my ($status_line, @lines) = split /\r\n/, $raw;
        my ($status) = $status_line =~ m{^HTTP/[\d.]+\s+(\d{3})};
        my %h;
        /^([^:]+?)\s*:\s*(.*?)\s*$/ and push @{$h{lc $1}}, $2 for @lines;
        next if defined $status && $status =~ /^1/ && $status != 101;  # 100 etc.

        my $r = { status => $status, raw_headers => $raw, headers => \%h,
                  complete => 1 };
        my $cl = ($h{'content-length'} || [])->[0];
        if ($heads->[@res] || ($status // '') =~ /^(?:204|304)$/) {
            $r->{body} = '';
        } elsif (join(',', @{$h{'transfer-encoding'} || []}) =~ /chunked/i) {
            ($r->{body}, $pos, $r->{complete}, $r->{bad_chunk}) = dechunk($buf, $pos);
        } elsif (defined $cl && $cl =~ /^\d+$/) {
            $r->{body} = substr $buf, $pos, $cl;
            $pos += length $r->{body};
            $r->{complete} = length($r->{body}) == $cl;
        } else {    # delimited by the end of the connection
            $r->{body} = substr $buf, $pos;
            $pos = length $buf;
            $r->{complete} = 0;
        }
        push @res, $r;
    }
    return \@res;
}

# Decode a chunked body from $pos: ($body, $next_pos, $complete, $malformed)
sub dechunk {
    my ($buf, $pos) = @_;
    my $body = '';
    while (1) {
        my $eol = index $buf, "\r\n", $pos;
        return ($body, length $buf, 0, 0) if $eol < 0;
        return ($body, length $buf, 0, 1)
            unless substr($buf, $pos, $eol - $pos) =~ /^([0-9a-fA-F]+)/;
        my $size = hex $1;
        $pos = $eol + 2;
        if ($size == 0) {    # the last chunk, optional trailers, CRLF
            while ((my $t = index $buf, "\r\n", $pos) >= 0) {
                return ($body, $t + 2, 1, 0) if $t == $pos;
                $pos = $t + 2;
            }
            return ($body, length $buf, 0, 0);
        }
        return ($body . substr($buf, $pos), length $buf, 0, 0)
            if length($buf) < $pos + $size + 2;
        $body .= substr $buf, $pos, $size;
        $pos += $size;
        return ($body, length $buf, 0, 1) if substr($buf, $pos, 2) ne "\r\n";
        $pos += 2;
    }
}

# ---- checks ----------------------------------------------------------------

# Status, headers and body of response $k of repetition $r.
sub check_response {
    my ($block, $res, $k, $r, $timed_out) = @_;
    my $name = $block->name;
    return if defined $block->ignore_response;

    if (defined(my $like = pick(scalar $block->error_code_like, $k))) {
        like($res->{status} // '', qr/$like/, "$name - status code ok");
    } else {
        my $want = pick(scalar $block->error_code, $k);
        $want = 200 unless defined $want && $want =~ /\S/;
        is($res->{status}, $want =~ s/^\s+|\s+$//gr, "$name - status code ok");
    }

    my $raw = $res->{raw_headers} // '';
    if (defined(my $pat = pick(scalar $block->raw_response_headers_like, $k))) {
        like($raw, qr/$pat/s, "$name - raw resp headers like");
    }
    if (defined(my $pat = pick(scalar $block->raw_response_headers_unlike, $k))) {
        unlike($raw, qr/$pat/s, "$name - raw resp headers unlike");
    }
    # like the CPAN module: _like is ignored when response_headers is given
    if (defined $block->response_headers) {
        check_headers($res, pick(scalar $block->response_headers, $k), $name, 0);
    } else {
        check_headers($res, pick(scalar $block->response_headers_like, $k), $name, 1);
    }
    fail("$name - chunked response body is well-formed (req $k)")
        if $res->{bad_chunk} || (!$res->{complete} && !$timed_out
           && join(',', @{$res->{headers}{'transfer-encoding'} || []}) =~ /chunked/i);

    # like the CPAN module: only the first of these three is checked
    my $body = $res->{body};
    my ($want, $like, $unlike) = map { pick(scalar $block->$_, $k) }
        qw(response_body response_body_like response_body_unlike);
    if (defined $block->response_body) {
        is_str($body, expand_env($want, $name), "$name - response_body -"
               . " response is expected (repeated req $r, req $k)") if defined $want;
    } elsif (defined $like) {
        like($body // '', ref $like ? $like : qr/$like/s,
             "$name - response_body_like - response is expected (req $k)");
    } elsif (defined $unlike) {
        unlike($body // '', ref $unlike ? $unlike : qr/$unlike/s,
               "$name - response_body_unlike - response is expected (req $k)");
    }
    $_->($block, $body, $k, $r, 0) for @BodyChecks;
}

# "Name: value" lines (for the _like form the value is a regex, anchored
# with ^...$); "!Name" means the header must be absent.  Names are
# case-insensitive; repeated headers are joined with ", ".
sub check_headers {
    my ($res, $spec, $name, $like) = @_;
    for my $line (split /\n/, $spec // '') {
        if ($line =~ /^\s*!\s*([^\s:]+)\s*$/) {
            ok(!exists $res->{headers}{lc $1},
               "$name - header $1 not present in the raw headers");
        } elsif ($line =~ /^\s*([^:]+?)\s*:\s*(.*?)\s*$/) {
            my ($h, $want) = ($1, $2);
            my $got = $res->{headers}{lc $h};
            $got = join ', ', @$got if $got;
            if ($like) {
                like($got // '', qr/^$want$/, "$name - header $h like ok");
            } else {
                is($want eq '' ? $got // '' : $got, $want, "$name - header $h ok");
            }
        }
    }
}

# Log checks after one response: on the part of error.log written since
# the previous check (since offset $err_from if defined), and on access.log
# since offset $acc_from (the block start), as the CPAN module does.
sub check_logs {
    my ($block, $r, $err_from, $acc_from) = @_;
    my $name = $block->name;
    settle_log();
    my $log = take_log('error', $err_from);
    my $access = take_log('access', $acc_from);

    if (defined(my $g = $block->grep_error_log)) {
        my $re = ref $g eq 'Regexp' ? $g : qr/\Q$g\E/;
        my $out = '';
        for my $line (split /\n/, $log) {
            $out .= substr($line, $-[0], $+[0] - $-[0]) . "\n" while $line =~ /$re/g;
        }
        my $want = pick(scalar $block->grep_error_log_out, $r);
        is_str($out, $want, "$name - grep_error_log_out (req $r)") if defined $want;
    }
    match_lines($log, scalar $block->error_log, 1, 'error.log', $name, $r);
    match_lines($log, scalar $block->no_error_log, 0, 'error.log', $name, $r);
    match_lines($access, scalar $block->access_log, 1, 'access.log', $name, $r);
    match_lines($access, scalar $block->no_access_log, 0, 'access.log', $name, $r);
}

# One test per pattern (a line of the section, or an element of an eval'd
# array: string = substring, qr// = regex) that must (not) match a line.
sub match_lines {
    my ($log, $spec, $want, $file, $name, $r) = @_;
    return unless defined $spec;
    my @pats = ref $spec eq 'ARRAY'  ? grep { defined } @$spec
             : ref $spec eq 'Regexp' ? ($spec) : grep { length } split /\n/, $spec;
    my @lines = split /\n/, $log;
    for my $pat (@pats) {
        my @hits = grep { ref $pat ? $_ =~ $pat : index($_, $pat) >= 0 } @lines;
        if ($want) {
            ok(scalar @hits, qq{$name - pattern "$pat" }
               . (@hits ? 'matches' : 'should match') . " a line in $file (req $r)")
                or diag('not found in the ' . @lines . " new lines of $file");
        } else {
            ok(!@hits, qq{$name - pattern "$pat" } . (@hits
               ? qq{should not match any line in $file but matches line "$hits[0]"}
               : "does not match a line in $file") . " (req $r)")
                or diag(join "\n", 'all matching lines:',
                        @hits[0 .. List::Util::min($#hits, 19)]);
        }
    }
}

# nginx may still be writing the last lines of a request (e.g. after closing
# the connection): wait until error.log stops growing (at most 200ms).
sub settle_log {
    my ($last, $stable) = (-1, 0);
    my $deadline = Time::HiRes::time() + 0.2;
    while (Time::HiRes::time() < $deadline && $stable < 2) {
        my $size = -s "$ServRoot/logs/error.log" // 0;
        ($last, $stable) = ($size, $size == $last ? $stable + 1 : 0);
        Time::HiRes::sleep(0.005);
    }
}

# The new part of logs/$which.log (or all of it since offset $from).
sub take_log {
    my ($which, $from) = @_;
    my $file = "$ServRoot/logs/$which.log";
    my $data = read_from($file, $Srv{"${which}_off"} // 0);
    $Srv{"${which}_off"} += length $data;
    return defined $from ? read_from($file, $from) : $data;
}

# String comparison with a readable report: a unified diff for multi-line
# values, and escaped versions when control characters are involved.
# A qr// as expected value means "like".
sub is_str {
    my ($got, $want, $name) = @_;
    local $Test::Builder::Level = $Test::Builder::Level + 1;
    return like($got // '', $want, $name) if ref $want eq 'Regexp';
    my $ok = defined $got && defined $want ? $got eq $want
                                           : !defined $got && !defined $want;
    if (!$ok && defined $got && defined $want && !$ENV{TEST_SHOW_NO_DIFFS}
            && "$got$want" =~ /\n./ && eval { require Text::Diff; 1 }) {
        ok(0, $name);
        diag(Text::Diff::diff(\$want, \$got, { STYLE => 'Unified',
                              FILENAME_A => 'expected', FILENAME_B => 'got' }));
    } else {
        Test::More::is($got, $want, $name);
    }
    if (!$ok && (($got // '') . ($want // '')) =~ /[^\n\x20-\x7e]/) {
        my %esc = ("\n" => '\n', "\r" => '\r', "\t" => '\t');
        for (['     got', $got], ['expected', $want]) {
            my $s = $_->[1] // 'undef';
            $s =~ s{([^\x20-\x7e])}{$esc{$1} // sprintf('\x{%02x}', ord $1)}ge;
            diag("$_->[0] (escaped): \"$s\"");
        }
    }
    return $ok;
}

# ---- files -----------------------------------------------------------------

sub write_file {
    my ($path, $data) = @_;
    open my $fh, '>:raw', $path or die "cannot write $path: $!";
    print {$fh} $data;
    close $fh or die "cannot write $path: $!";
}

sub read_from {
    my ($path, $off) = @_;
    open my $fh, '<:raw', $path or return '';
    seek $fh, $off, 0 or return '';
    local $/;
    return <$fh> // '';
}

1;
